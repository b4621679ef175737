"""Validation: retrieval metrics over the whole validation set and a reproducible masked-LM loss,
in the model and through allennlp's trainer (best checkpoint, early stopping, two workers)."""

import json

import numpy as np
import pytest
import torch
from allennlp.commands.train import train_model_from_file
from allennlp.data import Instance
from allennlp.data.fields import TextField

from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE, quickstart_overrides
from tests.models.test_declutr_model import build, reader_for, tensors
from tests.training.metrics.test_retrieval import expected


@pytest.fixture(autouse=True)
def _test_model_env(tiny_model, monkeypatch):
    monkeypatch.setenv("DECLUTR_TEST_MODEL", tiny_model)
    monkeypatch.setenv("DECLUTR_TEST_DOCUMENTS", str(DOCUMENTS))
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)  # the quickstart config's encoder


def embed_one_by_one(model, reader, fields) -> torch.Tensor:
    """Each span embedded on its own, through the prediction path."""
    singles = [Instance({"anchors": TextField(field.tokens)}) for field in fields]
    for single in singles:
        reader.apply_token_indexers(single)
    return torch.tensor(np.stack([o["embeddings"] for o in model.forward_on_instances(singles)]))


def validate(model, instances, batch_size: int) -> dict:
    with torch.no_grad():
        for start in range(0, len(instances), batch_size):
            model(**tensors(instances[start : start + batch_size]))
    return model.get_metrics(reset=True)


def test_validation_ranks_every_anchor_among_all_positives_with_reproducible_masks(tiny_model):
    # Given a model out of training and the 12 fixture documents' validation pairs
    model = build("declutr").eval()
    reader = reader_for(tiny_model, deterministic=True, seed=0)
    instances = list(reader.read(str(DOCUMENTS)))
    # When it validates in batches of 5 documents, twice
    first, second = validate(model, instances, 5), validate(model, instances, 5)
    # Then retrieval is measured over all 24 pairs at once, not per batch: each anchor against
    # the mean of every anchor's positives, on the embeddings prediction returns
    anchors = embed_one_by_one(model, reader, [f for i in instances for f in i["anchors"]])
    positives = embed_one_by_one(model, reader, [f for i in instances for f in i["positives"]])
    reference = expected(anchors, positives.view(len(anchors), 2, -1).mean(dim=1))
    assert first["retrieval_accuracy"] == pytest.approx(reference["retrieval_accuracy"])
    assert first["retrieval_mrr"] == pytest.approx(reference["retrieval_mrr"])
    # And the masked-LM loss is measured (not 0.0) on masks that are the same every time
    assert first["mlm_loss"] > 1.0
    assert first == second


def test_training_batches_do_not_count_towards_retrieval(tiny_model):
    model = build("declutr").train()
    instances = list(reader_for(tiny_model, seed=0).read(str(DOCUMENTS)))[:4]
    model(**tensors(instances))
    assert "retrieval_accuracy" not in model.get_metrics()
    model.eval()
    assert "retrieval_accuracy" not in model.get_metrics(reset=True)


def train(tmp_path, overrides: dict) -> dict:
    train_model_from_file(
        str(CONFIG_ROOT / "quickstart.jsonnet"),
        str(tmp_path),
        overrides=json.dumps(overrides),
        include_package=["declutr"],
        return_model=False,
    )
    return json.loads((tmp_path / "metrics.json").read_text())


@pytest.mark.slow
def test_the_trainer_keeps_the_best_epoch_and_stops_early_on_retrieval_accuracy(
    tiny_model, tmp_path, monkeypatch
):
    # Given the quickstart config with validation data, tracked by retrieval accuracy with a
    # patience of 1, and a learning rate of 0 (the model cannot change)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    overrides = quickstart_overrides(
        validation_data_path=str(DOCUMENTS),
        **{
            "trainer.num_epochs": 4,
            "trainer.optimizer.lr": 0.0,
            "trainer.validation_metric": "+retrieval_accuracy",
            "trainer.patience": 1,
        },
    )
    # When allennlp trains it
    metrics = train(tmp_path, overrides)
    # Then metrics.json has the validation metrics: retrieval and a real masked-LM loss
    assert 0 < metrics["validation_retrieval_accuracy"] <= 1
    assert 0 < metrics["validation_retrieval_mrr"] <= 1
    assert metrics["validation_mlm_loss"] > 1.0
    # And validation is deterministic: both epochs measure the same values
    epochs = [
        json.loads((tmp_path / f"metrics_epoch_{epoch}.json").read_text()) for epoch in range(2)
    ]
    for key in ("retrieval_accuracy", "retrieval_mrr", "mlm_loss", "contrastive_loss"):
        assert epochs[0][f"validation_{key}"] == epochs[1][f"validation_{key}"]
    # So epoch 1 did not improve, training stopped there, and epoch 0 stays the best
    assert not (tmp_path / "metrics_epoch_2.json").exists()
    assert metrics["best_epoch"] == 0
    best = metrics["best_validation_retrieval_accuracy"]
    assert best == epochs[0]["validation_retrieval_accuracy"]
