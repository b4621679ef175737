"""Edge cases of distributed training on the CPU (gloo, two real allennlp workers): a corpus with
no usable document, evaluation on test data, uneven validation shards, resuming mid-epoch."""

import functools
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch.multiprocessing as mp
from allennlp.commands import train as train_command
from allennlp.commands.train import train_model_from_file

from tests import CONFIG_ROOT, MODEL_VARIABLE, quickstart_overrides, sampling_reader

TWO_WORKERS = {"distributed": {"cuda_devices": [-1, -1]}}


@pytest.fixture
def two_workers(tiny_model, monkeypatch):
    """allennlp's distributed training, its workers forked instead of spawned: they inherit the
    imported libraries and registrations instead of importing them again (~10 s each). The
    quickstart config's encoder is the tiny model."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)
    spawn = functools.partial(mp.start_processes, start_method="fork")
    monkeypatch.setattr(train_command, "mp", SimpleNamespace(spawn=spawn))


def train(serialization_dir: Path, overrides: dict, **kwargs) -> None:
    train_model_from_file(
        str(CONFIG_ROOT / "quickstart.jsonnet"),
        str(serialization_dir),
        overrides=json.dumps(overrides),
        include_package=["declutr"],
        return_model=False,
        **kwargs,
    )


@pytest.mark.slow
def test_no_usable_document_on_any_rank_fails_as_one_process_does(
    two_workers, tiny_model, tmp_path
):
    # Given a corpus whose documents are all too short to sample from (each needs 2 * 2 * 32)
    corpus = tmp_path / "short.txt"
    corpus.write_text("Too short to sample from.\n" * 4)
    # And the error one process reading it raises: the corpus, the minimum, the longest
    with pytest.raises(ValueError) as one_process:
        list(sampling_reader(tiny_model, seed=0).read(str(corpus)))
    assert "at least 128 subword tokens" in str(one_process.value)

    # When two workers train on it / Then both fail with that error, before training
    overrides = quickstart_overrides(
        train_data_path=str(corpus), **{"data_loader.batch_size": 2, **TWO_WORKERS}
    )
    with pytest.raises(Exception, match=re.escape(str(one_process.value))):
        train(tmp_path / "out", overrides)
    # And no untrained archive is written
    assert not (tmp_path / "out" / "model.tar.gz").exists()
