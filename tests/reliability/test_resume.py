"""Kill `allennlp train` with SIGKILL mid-epoch, resume with --recover, compare with a run that
was never interrupted."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests import CONFIG_ROOT, DOCUMENTS, PROJECT_ROOT, quickstart_overrides

CHECKPOINT = re.compile(r"model_state_e(\d+)_b(\d+)\.th")


def train_command(serialization_dir: Path, corpus: Path, model: str, *extra: str):
    overrides = quickstart_overrides(
        model,
        train_data_path=str(corpus),
        **{
            "data_loader.batch_size": 2,
            "trainer.num_epochs": 2,
            # No dropout and no masking: with the same data, the two runs compute the same
            # steps (allennlp does not restore torch's RNG state on --recover).
            "model.masked_language_modeling": False,
            # Checkpoint cadence comes from the config: here every 10 batches.
            "trainer.checkpointer": {"save_every_num_batches": 10, "keep_most_recent_by_count": 2},
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


def mid_epoch_checkpoint(serialization_dir: Path):
    for path in serialization_dir.glob("model_state_e*_b*.th"):
        epoch, batches = map(int, CHECKPOINT.match(path.name).groups())
        if epoch == 0 and batches >= 10:
            return path
    return None


@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(tiny_model_no_dropout, tmp_path):
    tiny_model = tiny_model_no_dropout
    # Given a corpus of 240 documents: 120 batches of 2 per epoch, 2 epochs
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(DOCUMENTS.read_text() * 20)
    run = dict(cwd=PROJECT_ROOT, env=environment(), capture_output=True, text=True, timeout=600)

    # When one run trains uninterrupted
    uninterrupted = tmp_path / "uninterrupted"
    result = subprocess.run(train_command(uninterrupted, corpus, tiny_model), **run)
    assert result.returncode == 0, result.stderr[-3000:]

    # And another is killed with SIGKILL after its first mid-epoch checkpoint
    crashed = tmp_path / "crashed"
    process = subprocess.Popen(
        train_command(crashed, corpus, tiny_model),
        cwd=PROJECT_ROOT,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while mid_epoch_checkpoint(crashed) is None and process.poll() is None:
        assert time.monotonic() < deadline, "no mid-epoch checkpoint within 300 s"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (crashed / "model.tar.gz").exists(), "the run finished before it was killed"

    # And is resumed with --recover
    result = subprocess.run(train_command(crashed, corpus, tiny_model, "--recover"), **run)
    assert result.returncode == 0, result.stderr[-3000:]

    # Then it ends with the same number of optimizer steps
    assert optimizer_steps(crashed) == optimizer_steps(uninterrupted) == 240
    # And the last epoch saw the same spans and reached the same loss
    final = json.loads((crashed / "metrics.json").read_text())
    reference = json.loads((uninterrupted / "metrics.json").read_text())
    assert final["epoch"] == reference["epoch"] == 1
    assert final["training_contrastive_loss"] == pytest.approx(
        reference["training_contrastive_loss"], rel=1e-3
    )
