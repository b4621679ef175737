import copy

import numpy as np
import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch, Instance, Vocabulary
from allennlp.data.fields import TextField
from allennlp.models import Model

from declutr.data.dataset_readers import DeCLUTRDatasetReader
from declutr.losses import NTXent
from declutr.models.declutr import _flatten
from tests import DOCUMENTS, FIXTURES_ROOT

CONFIGS = FIXTURES_ROOT / "configs"


@pytest.fixture(autouse=True)
def _test_model_env(tiny_model, monkeypatch):
    # The fixture configs read these through jsonnet ext vars.
    monkeypatch.setenv("DECLUTR_TEST_MODEL", tiny_model)
    monkeypatch.setenv("DECLUTR_TEST_DOCUMENTS", str(DOCUMENTS))


class TestDeCLUTRModel(ModelTestCase):
    @pytest.mark.parametrize("config", ["declutr", "contrastive_only", "mlm_only", "feedforward"])
    def test_train_save_load_and_consistent_batches(self, config):
        # Given each variant of the model on the fixture documents
        self.set_up_model(CONFIGS / f"{config}.jsonnet", DOCUMENTS, seed=1)
        # Then it trains, every parameter gets a gradient, and the archive predicts the same
        self.ensure_model_can_train_save_and_load(self.param_file, seed=1)
        # And one instance at a time embeds like a batch (padding is ignored by the pooling)
        self.ensure_batch_predictions_are_consistent(keys_to_ignore=("loss",))


def build(config: str, **model_overrides) -> Model:
    params = Params.from_file(str(CONFIGS / f"{config}.jsonnet"))
    model_params = params.pop("model")
    for key, value in model_overrides.items():
        model_params[key] = value
    return Model.from_params(vocab=Vocabulary.empty(), params=model_params)


def reader_for(tiny_model: str, **kwargs) -> DeCLUTRDatasetReader:
    params = Params.from_file(str(CONFIGS / "declutr.jsonnet"))["dataset_reader"].as_dict()
    params.update(kwargs)
    params.pop("type")
    return DeCLUTRDatasetReader.from_params(Params(params))


def tensors(instances):
    batch = Batch(copy.deepcopy(instances))
    batch.index_instances(Vocabulary.empty())
    return batch.as_tensor_dict()


def test_training_returns_loss_and_reports_both_parts(tiny_model):
    model = build("declutr")
    reader = reader_for(tiny_model, seed=0)
    instances = list(reader.read(str(DOCUMENTS)))[:4]
    model.train()
    output = model(**tensors(instances))
    # Shape: (batch_size, num_anchors, dim)
    assert output["embeddings"].shape == (4, 2, 32)
    output["loss"].backward()
    metrics = model.get_metrics(reset=True)
    assert set(metrics) == {"contrastive_loss", "mlm_loss"}
    assert output["loss"].item() == pytest.approx(metrics["contrastive_loss"] + metrics["mlm_loss"])


def test_mlm_weight_scales_the_masked_lm_part_of_the_training_loss(tiny_model):
    # Given a model whose masked-LM loss weighs a quarter
    model = build("declutr", mlm_weight=0.25).train()
    instances = list(reader_for(tiny_model, seed=0).read(str(DOCUMENTS)))[:4]
    # When it trains on a batch
    loss = model(**tensors(instances))["loss"]
    metrics = model.get_metrics(reset=True)
    # Then the loss is the contrastive loss plus a quarter of the (reported, unweighted) MLM loss
    assert metrics["mlm_loss"] > 1.0
    expected = metrics["contrastive_loss"] + 0.25 * metrics["mlm_loss"]
    assert loss.item() == pytest.approx(expected)


@pytest.mark.parametrize("unmasked_anchors", [False, True])
def test_unmasked_anchors_give_the_contrastive_loss_its_unmasked_embeddings(
    tiny_model_no_dropout, monkeypatch, unmasked_anchors
):
    # Given a model without dropout, so that only masking tells training from evaluation
    monkeypatch.setenv("DECLUTR_TEST_MODEL", tiny_model_no_dropout)
    model = build("declutr", unmasked_anchors=unmasked_anchors)
    instances = list(reader_for(tiny_model_no_dropout, seed=0).read(str(DOCUMENTS)))[:4]
    with torch.no_grad():
        model.eval()
        model(**tensors(instances))
        unmasked = model.get_metrics(reset=True)["contrastive_loss"]
        # When it trains on the same batch (anchors masked for the masked-LM loss)
        model.train()
        model(**tensors(instances))
        trained = model.get_metrics(reset=True)
    # Then the contrastive loss is that of the unmasked anchors exactly when asked for
    assert trained["mlm_loss"] > 1.0
    assert (trained["contrastive_loss"] == pytest.approx(unmasked)) == unmasked_anchors


def test_masked_anchor_positives_add_the_anchor_and_its_masked_pass_as_a_pair(
    tiny_model_no_dropout, monkeypatch
):
    # Given a model without dropout whose anchors' masked passes are also their positives
    monkeypatch.setenv("DECLUTR_TEST_MODEL", tiny_model_no_dropout)
    model = build("declutr", unmasked_anchors=True, masked_anchor_positives=True)
    instances = list(reader_for(tiny_model_no_dropout, seed=0).read(str(DOCUMENTS)))[:4]
    batch = tensors(instances)
    with torch.no_grad():
        model.eval()
        model(**batch)
        spans_only = model.get_metrics(reset=True)["contrastive_loss"]
        # When it trains on the batch, and the same masks are drawn again outside the model
        model.train()
        torch.manual_seed(5)
        model(**batch)
        trained = model.get_metrics(reset=True)["contrastive_loss"]
        torch.manual_seed(5)
        masked, _ = model._embed_masked(_flatten(batch["anchors"]))
        unmasked = model._embed(_flatten(batch["anchors"]))
    # Then the contrastive loss is the span pairs' plus NT-Xent of each anchor with its masked pass
    expected = spans_only + NTXent(temperature=0.05)(unmasked, masked).item()
    assert trained == pytest.approx(expected, rel=1e-4)
    assert trained > spans_only + 0.01


def test_masked_anchor_positives_need_unmasked_anchors():
    with pytest.raises(ConfigurationError, match="needs unmasked_anchors: true"):
        build("declutr", masked_anchor_positives=True)


@pytest.mark.parametrize("weight", [0.0, -1.0])
def test_a_weight_that_is_not_positive_is_refused(weight):
    with pytest.raises(ConfigurationError, match="masked_language_modeling: false"):
        build("declutr", mlm_weight=weight)


def test_contrastive_loss_uses_the_mean_positive_of_each_anchor(tiny_model):
    # Given a model in evaluation mode (no masking) and sampled instances
    model = build("contrastive_only").eval()
    reader = reader_for(tiny_model, seed=3)
    instances = list(reader.read(str(DOCUMENTS)))[:3]
    with torch.inference_mode():
        loss = model(**tensors(instances))["loss"]

    # When every span is embedded on its own, through the prediction path
    def embed(fields):
        singles = [Instance({"anchors": TextField(field.tokens)}) for field in fields]
        for single in singles:
            reader.apply_token_indexers(single)
        outputs = model.forward_on_instances(singles)
        return torch.tensor(np.stack([o["embeddings"] for o in outputs]))

    anchors = embed([f for i in instances for f in i["anchors"].field_list])
    positives = embed([f for i in instances for f in i["positives"].field_list])
    # Then the model's loss is NT-Xent between each anchor and the mean of its 2 positives
    mean_positives = positives.view(anchors.size(0), 2, -1).mean(dim=1)
    expected = NTXent(temperature=0.05)(anchors, mean_positives)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)


def test_prediction_embeds_whole_texts_without_loss(tiny_model):
    model = build("feedforward").eval()
    reader = reader_for(tiny_model)
    with reader.no_sample():
        instances = [reader.text_to_instance(t) for t in ["a short text", "another, longer text"]]
    for instance in instances:
        reader.apply_token_indexers(instance)
    output = model(**tensors(instances))
    assert output["embeddings"].shape == (2, 32)
    assert output["projections"].shape == (2, 16)
    assert "loss" not in output


def test_a_model_without_any_objective_is_refused():
    with pytest.raises(ConfigurationError, match="needs a training objective"):
        build("contrastive_only", loss=None)


def test_masked_language_modeling_needs_the_mlm_embedder():
    with pytest.raises(ConfigurationError, match='"pretrained_transformer_mlm"'):
        build("contrastive_only", masked_language_modeling=True)


def test_masked_language_modeling_needs_one_token_indexer(tiny_model):
    # Given the MLM embedder plus a second token embedder (so a second token indexer)
    embedders = Params.from_file(str(CONFIGS / "declutr.jsonnet"))["model"]["text_field_embedder"][
        "token_embedders"
    ].as_dict()
    embedders["characters"] = {"type": "pretrained_transformer", "model_name": tiny_model}
    # Then the model refuses it when it is built, not at the first batch
    with pytest.raises(ConfigurationError, match="supports one token indexer"):
        build("declutr", text_field_embedder={"token_embedders": embedders})


@pytest.mark.parametrize(
    "config, why",
    [
        ("contrastive_only", "without masked_language_modeling they are never masked"),
        ("mlm_only", "there is no contrastive `loss`"),
    ],
)
def test_unmasked_anchors_without_both_losses_is_refused(config, why):
    # Given a model with one of the two losses / Then asking for unmasked anchors is refused
    with pytest.raises(ConfigurationError, match=rf"unmasked_anchors: true .*needs both .*{why}"):
        build(config, unmasked_anchors=True)


def test_mlm_probability_is_validated():
    with pytest.raises(ConfigurationError, match="mlm_probability"):
        build("declutr", mlm_probability=1.5)


def test_without_masked_lm_the_head_of_an_mlm_embedder_is_frozen():
    # Given the MLM embedder in a model trained without masked LM (the head would get no
    # gradient, which DDP refuses)
    model = build("declutr", masked_language_modeling=False)
    mlm_model = model._text_field_embedder._token_embedders["tokens"].mlm_model
    encoder_ids = {id(p) for p in mlm_model.base_model.parameters()}
    head = [p for p in mlm_model.parameters() if id(p) not in encoder_ids]
    # Then the head is frozen and the encoder (tied word embeddings included) still trains
    assert head and not any(p.requires_grad for p in head)
    assert all(p.requires_grad for p in mlm_model.base_model.parameters())
    # And with masked LM the head trains
    mlm_model = build("declutr")._text_field_embedder._token_embedders["tokens"].mlm_model
    assert all(p.requires_grad for p in mlm_model.parameters())
