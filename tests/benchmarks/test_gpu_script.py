"""`python -m scripts.benchmarks.gpu`, the prepared GPU check: every path runs on the CPU at
`--scale 0.01` (the same code and plan as the GPU run, smaller), and the preflight fails in
seconds, with a message naming what to change, before any work."""

import json
import subprocess
import sys
import time

import pytest
import torch

from scripts.benchmarks.gpu_preflight import DEFAULTS, check_sizes, data_capacity
from tests import PROJECT_ROOT

TOOLS = ("declutr", "sentence-transformers")


def run_check(tmp_path, *options: str, timeout: float = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "scripts.benchmarks.gpu", "--output-dir", str(tmp_path)]
    return subprocess.run(
        [*command, *options], capture_output=True, text=True, timeout=timeout, cwd=PROJECT_ROOT
    )


@pytest.mark.slow
def test_gpu_check_runs_every_path_on_the_cpu(shared_dir, tmp_path):
    # Given / When: the GPU check's plan at 1% of its sizes, on the CPU, with the real data
    done = run_check(tmp_path, "--device", "cpu", "--scale", "0.01", "--shared", str(shared_dir))

    # Then: it passes, and the JSON holds every figure the GPU run records
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check_cpu.json").read_text())
    assert (tmp_path / "gpu_check_cpu.log").read_text().strip()
    assert report["passed"] and report["environment"]["torch_cuda_build"]
    results = {record["name"]: record for record in report["results"]}
    for tool in TOOLS:
        for precision in ("float32", "bfloat16"):
            embedded = results[f"embed:{tool}:{precision}"]
            assert embedded["status"] == "measured"
            assert all(rate > 0 for rate in embedded["texts_per_s"].values())
            assert embedded["peak_memory_mib"] > 0
        assert results[f"embed:{tool}:bfloat16"]["min_cosine_vs_float32"] >= 0.99
        trained = results[f"train_step:{tool}:bfloat16"]
        assert trained["status"] == "measured"
        assert trained["tokens_per_s"] > 0 and trained["peak_memory_mib"] > 0
        # float16 autocast is a GPU path: skipped on the CPU, with the reason
        for name in (f"embed:{tool}:float16", f"train_step:{tool}:float16"):
            assert results[name]["status"] == "skipped" and "CPU" in results[name]["reason"]
    assert results["embed:sentence-transformers:float32"]["min_cosine_vs_float32"] >= 0.99
    # The real training ran and was scored before and after (on adjacent positives); its rise is
    # checked at the full sizes only (6 steps here can move it either way)
    real = results["train_real"]
    assert 0 < real["before"]["retrieval_accuracy"] < 1 and real["after"]["retrieval_accuracy"] > 0
    (rise,) = [c for c in report["checks"] if c["name"] == "validation retrieval accuracy rises"]
    assert rise["checked"] is False


def test_default_sizes_fit_the_shared_data(shared_dir):
    # Given the data's sentences and documents / When the GPU run's defaults are checked
    # Then nothing is larger than what the data holds (raises otherwise)
    check_sizes(DEFAULTS, data_capacity(shared_dir), "the default sizes")


def test_preflight_refuses_more_texts_than_the_data_holds(shared_dir, tmp_path):
    start = time.perf_counter()
    done = run_check(
        tmp_path, "--device", "cpu", "--shared", str(shared_dir), "--num-texts", "20000"
    )
    assert done.returncode == 2
    assert "--num-texts 20000 needs 10000 STS-B sentences" in done.stdout
    assert "at most 8968 texts" in done.stdout
    assert time.perf_counter() - start < 60


def test_preflight_names_a_missing_model_and_how_to_set_it(tmp_path):
    start = time.perf_counter()
    done = run_check(tmp_path, "--device", "cpu", "--model", str(tmp_path / "absent"))
    assert done.returncode == 2
    assert f"No model at {tmp_path / 'absent'}" in done.stdout
    assert "--model PATH, or set DECLUTR_SHARED" in done.stdout
    assert json.loads((tmp_path / "gpu_check_cpu.json").read_text())["preflight_error"]
    assert time.perf_counter() - start < 60


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a GPU-less machine")
def test_preflight_without_a_gpu_says_so_and_prints_the_build(tmp_path):
    done = run_check(tmp_path, "--preflight-only")
    assert done.returncode == 2
    assert "PREFLIGHT FAILED: CUDA is not available" in done.stdout
    assert f"CUDA build: {torch.version.cuda or 'CPU-only'}" in done.stdout


@pytest.mark.parametrize("full_size", [True, False])
def test_the_rise_is_checked_at_full_size_only(full_size):
    from scripts.benchmarks.gpu import checks

    # Given a real training whose validation retrieval fell
    record = {"name": "train_real", "status": "measured"}
    record.update(before={"retrieval_accuracy": 0.73}, after={"retrieval_accuracy": 0.69})
    # When the checks are made at the full sizes, or at a --scale below 1
    (ran, rise) = checks([record], min_cosine=0.99, full_size=full_size)
    # Then the fall fails the full-size run; the scaled run records it, unchecked
    assert ran["passed"]
    assert rise["value"] == [0.73, 0.69] and rise["checked"] is full_size
    assert rise["passed"] is not full_size
