"""Edge cases of distributed training on the CPU (gloo, two real allennlp workers): a corpus with
no usable document, evaluation on test data, uneven validation shards, resuming mid-epoch."""

import io
import json
import os
import re
import signal
import tarfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Dict, Optional

import pytest
import torch
import torch.multiprocessing as mp
from allennlp.commands import train as train_command
from allennlp.commands.train import train_model_from_file
from allennlp.data import Batch, Vocabulary
from allennlp.models.archival import load_archive

import declutr.training  # noqa: F401  (its checks of distributed configs apply on import)
import tests.models.slow_rank_probe  # noqa: F401  (registers "slow_rank" for the forked workers)
from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE, quickstart_overrides, sampling_reader

TWO_WORKERS = {"distributed": {"cuda_devices": [-1, -1]}}


@pytest.fixture
def two_workers(tiny_model, monkeypatch):
    """allennlp's distributed training, its workers forked instead of spawned: they inherit the
    imported libraries and registrations instead of importing them again (~10 s each). The
    quickstart config's encoder is the tiny model."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)
    monkeypatch.setattr(train_command, "mp", SimpleNamespace(spawn=fork_workers))


def fork_workers(function: Callable[..., None], *args, **kwargs) -> None:
    """`mp.spawn` by forking; each worker single-threaded (a fork inherits the parent's OpenMP
    thread pool in a state that can hang the child's first parallel operation)."""

    def single_threaded(*worker_args) -> None:
        torch.set_num_threads(1)
        function(*worker_args)

    mp.start_processes(single_threaded, *args, start_method="fork", **kwargs)


def train(serialization_dir: Path, overrides: dict, **kwargs) -> None:
    train_model_from_file(
        str(CONFIG_ROOT / "quickstart.jsonnet"),
        str(serialization_dir),
        overrides=json.dumps(overrides),
        include_package=["declutr", "tests.models.slow_rank_probe"],
        return_model=False,
        **kwargs,
    )


def error_within(timeout: float, function: Callable[[], None]) -> Optional[str]:
    """What `function()` raises ("Type: message"), or `None`, run in a forked process with a
    session of its own; past `timeout` seconds (a hang), that process and its workers are killed
    and the test fails."""
    context = mp.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def run() -> None:
        os.setsid()
        try:
            function()
            sender.send(None)
        except BaseException as error:
            sender.send(f"{type(error).__name__}: {error}")

    process = context.Process(target=run)
    process.start()
    if not receiver.poll(timeout):
        os.killpg(process.pid, signal.SIGKILL)
        process.join()
        pytest.fail(f"still running after {timeout} s: it hangs")
    error = receiver.recv()
    process.join()
    return error


def uneven_corpus(path: Path) -> Path:
    """Even lines (rank 0's shard) 6 long documents, odd lines (rank 1's) 2 long documents and 4
    too short to sample from."""
    documents = DOCUMENTS.read_text(encoding="utf-8").splitlines()
    odd = documents[6:8] + ["too short"] * 4
    path.write_text("".join(f"{a}\n{b}\n" for a, b in zip(documents[:6], odd)))
    return path


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


def test_distributed_evaluate_on_test_is_refused_before_training(two_workers, tmp_path):
    # Given two workers told to evaluate on test data after training
    overrides = quickstart_overrides(
        test_data_path=str(DOCUMENTS),
        evaluate_on_test=True,
        **{"data_loader.batch_size": 2, **TWO_WORKERS},
    )
    # When allennlp trains it (a hang fails the test)
    error = error_within(120, lambda: train(tmp_path / "out", overrides))
    # Then it is refused up front, saying why and what to do instead
    assert error is not None and error.startswith("ConfigurationError: evaluate_on_test is not")
    assert '"evaluate_on_test": false' in error and "allennlp evaluate" in error
    # And before making the serialization directory
    assert not (tmp_path / "out").exists()


def kill_after(checkpoint: Path, function: Callable[[], None]) -> None:
    """Run `function()` in a forked process with a session of its own, and kill that process and
    its workers with SIGKILL as soon as `checkpoint` exists."""
    process = mp.get_context("fork").Process(target=lambda: (os.setsid(), function()))
    process.start()
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.is_alive():
        assert time.monotonic() < deadline, f"no {checkpoint.name} within 120 s"
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.join()
    assert not (checkpoint.parent / "model.tar.gz").exists(), "the run finished before the kill"


def archived_weights(serialization_dir: Path) -> Dict[str, torch.Tensor]:
    with tarfile.open(serialization_dir / "model.tar.gz") as archive:
        data = archive.extractfile("weights.th").read()  # type: ignore[union-attr]
    return torch.load(io.BytesIO(data), weights_only=True)


@pytest.mark.slow
def test_a_distributed_run_killed_mid_epoch_resumes_as_if_uninterrupted(two_workers, tmp_path):
    # Given the 12 fixture documents: 3 steps of 2 documents a rank, with dropout and masking
    # on, and a checkpoint every 2 steps
    settings = {
        "data_loader.batch_size": 2,
        "trainer.checkpointer": {"save_every_num_batches": 2},
        **TWO_WORKERS,
    }
    # And rank 1 slower than rank 0 after step 2, before it saves that checkpoint (long enough
    # for the kill to come first, on a busy machine too, unless the primary waits for it)
    slow = [{"type": "slow_rank", "rank": 1, "batch": 2, "seconds": 3}]
    overrides = quickstart_overrides(**settings)
    crashing = quickstart_overrides(**settings, **{"trainer.callbacks": slow})

    # When one run trains uninterrupted
    train(tmp_path / "uninterrupted", overrides)
    # And another is killed (both workers, SIGKILL) once the checkpoint of step 2 counts (its
    # training state is written), then resumed with recover
    crashed = tmp_path / "crashed"
    kill_after(crashed / "training_state_e0_b2.th", lambda: train(crashed, crashing))
    train(crashed, crashing, recover=True)

    # Then the resumed run ends with the uninterrupted run's weights
    expected = archived_weights(tmp_path / "uninterrupted")
    for name, value in archived_weights(crashed).items():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.slow
def test_validation_on_uneven_shards_covers_every_pair(two_workers, tiny_model, tmp_path):
    # Given validation documents whose shards differ: 3 batches of 2 on rank 0, 1 on rank 1
    validation = uneven_corpus(tmp_path / "validation.txt")
    overrides = quickstart_overrides(
        validation_data_path=str(validation),
        **{"data_loader.batch_size": 2, "validation_data_loader.batch_size": 2, **TWO_WORKERS},
    )
    # When two workers train one epoch and validate
    train(tmp_path / "out", overrides)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())

    # Then the validation retrieval metrics are those of one process validating the trained
    # model on all 8 documents' pairs (deterministic spans: 2 anchors each)
    model = load_archive(str(tmp_path / "out" / "model.tar.gz")).model.eval()
    reader = sampling_reader(tiny_model, seed=0)
    reader.set_epoch(0, deterministic=True)
    batch = Batch(list(reader.read(str(validation))))
    batch.index_instances(Vocabulary.empty())
    with torch.no_grad():
        model(**batch.as_tensor_dict())
    one_process = model.get_metrics(reset=True)
    assert len(batch.instances) == 8
    for key in ("retrieval_accuracy", "retrieval_mrr"):
        assert metrics[f"validation_{key}"] == pytest.approx(one_process[key], abs=1e-6)
