"""Kill `allennlp train` with SIGKILL mid-epoch, resume with --recover, compare with a run that
was never interrupted: with dropout and masking on, every loss is bit-identical."""

import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import torch

from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE, PROJECT_ROOT, quickstart_overrides

CHECKPOINT = re.compile(r"training_state_e(\d+)_b(\d+)\.th")
BATCHES_PER_EPOCH = 60  # 120 documents, 2 a batch


def train_command(serialization_dir: Path, corpus: Path, *extra: str):
    overrides = quickstart_overrides(
        train_data_path=str(corpus),
        **{
            "data_loader.batch_size": 2,
            "trainer.num_epochs": 2,
            # This replaces the config's whole checkpointer dict, type included: the "declutr"
            # checkpointer is the default one.
            "trainer.checkpointer": {"save_every_num_batches": 10, "keep_most_recent_by_count": 2},
            "trainer.callbacks": [{"type": "loss_probe"}],
        },
    )
    return [
        sys.executable,
        "-m",
        "allennlp",
        "train",
        str(CONFIG_ROOT / "quickstart.jsonnet"),
        "-s",
        str(serialization_dir),
        "--include-package",
        "declutr",
        "--include-package",
        "tests.reliability.loss_probe",
        "--overrides",
        json.dumps(overrides),
        *extra,
    ]


def environment():
    return {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def optimizer_steps(serialization_dir: Path) -> int:
    states = sorted(serialization_dir.glob("training_state_e*_b*.th"), key=os.path.getmtime)
    optimizer = torch.load(states[-1], weights_only=True)["optimizer"]
    return max(int(state["step"]) for state in optimizer["state"].values())


def checkpoint_after(serialization_dir: Path, epoch: int, batches: int):
    # A checkpoint counts once its training state is written (after the model state).
    for path in serialization_dir.glob("training_state_e*_b*.th"):
        point = tuple(map(int, CHECKPOINT.match(path.name).groups()))
        if point >= (epoch, batches):
            return point
    return None


def kill_after_checkpoint(command: List[str], serialization_dir: Path, epoch: int, batches: int):
    """Run `command` and kill it with SIGKILL once it has written a checkpoint at or after
    `batches` batches of epoch `epoch`."""
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while checkpoint_after(serialization_dir, epoch, batches) is None and process.poll() is None:
        assert time.monotonic() < deadline, f"no checkpoint of epoch {epoch} within 300 s"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (serialization_dir / "model.tar.gz").exists(), "the run finished before the kill"


def losses_by_process(serialization_dir: Path) -> List[Dict[Tuple[int, int], dict]]:
    """The losses `loss_probe` wrote, step by step, for each process in turn."""
    processes: Dict[int, Dict[Tuple[int, int], dict]] = {}
    for line in (serialization_dir / "losses.jsonl").read_text().splitlines():
        record = json.loads(line)
        processes.setdefault(record["pid"], {})[record["epoch"], record["batch"]] = record["losses"]
    return list(processes.values())


def archived_weights(serialization_dir: Path) -> Dict[str, torch.Tensor]:
    with tarfile.open(serialization_dir / "model.tar.gz") as archive:
        data = archive.extractfile("weights.th").read()  # type: ignore[union-attr]
    return torch.load(io.BytesIO(data), weights_only=True)


@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(tiny_model, tmp_path, monkeypatch):
    # Given a corpus of 120 documents: 60 batches of 2 per epoch, 2 epochs, with dropout and
    # masking on (the tiny model's dropout, the quickstart config's masked LM)
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)  # the quickstart config's encoder
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(DOCUMENTS.read_text() * 10)
    run = dict(cwd=PROJECT_ROOT, env=environment(), capture_output=True, text=True, timeout=600)

    # When one run trains uninterrupted
    uninterrupted = tmp_path / "uninterrupted"
    result = subprocess.run(train_command(uninterrupted, corpus), **run)
    assert result.returncode == 0, result.stderr[-3000:]

    # And another is killed with SIGKILL after a mid-epoch checkpoint of epoch 0, resumed with
    # --recover, killed again after a mid-epoch checkpoint of epoch 1, and resumed again
    crashed = tmp_path / "crashed"
    kill_after_checkpoint(train_command(crashed, corpus), crashed, 0, 10)
    recover = train_command(crashed, corpus, "--recover")
    kill_after_checkpoint(recover, crashed, 1, 10)
    result = subprocess.run(recover, **run)
    assert result.returncode == 0, result.stderr[-3000:]

    # Then every step of every process computed the uninterrupted run's losses, bit for bit
    (reference,) = losses_by_process(uninterrupted)
    assert len(reference) == 2 * BATCHES_PER_EPOCH
    processes = losses_by_process(crashed)
    assert len(processes) == 3
    for steps in processes:
        assert steps == {step: reference[step] for step in steps}
    # And the resumed processes started mid-epoch, in epoch 0 and in epoch 1, and finished
    first_steps = [min(steps) for steps in processes[1:]]
    assert first_steps[0][0] == 0 and first_steps[0][1] > 10
    assert first_steps[1][0] == 1 and first_steps[1][1] > 10
    assert max(processes[2]) == (1, BATCHES_PER_EPOCH)
    # And the same number of optimizer steps led to the same weights
    assert optimizer_steps(crashed) == optimizer_steps(uninterrupted) == 2 * BATCHES_PER_EPOCH
    expected = archived_weights(uninterrupted)
    for name, value in archived_weights(crashed).items():
        assert torch.equal(value, expected[name]), name
    # And the random states are kept and removed with their checkpoints
    checkpoints = {CHECKPOINT.match(p.name).groups() for p in crashed.glob("training_state_*")}
    random_states = re.compile(r"random_states_e(\d+)_b(\d+)_w0\.th")
    kept = {random_states.match(p.name).groups() for p in crashed.glob("random_states_*.th")}
    assert kept == checkpoints and len(kept) == 2
