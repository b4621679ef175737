"""`python -m scripts.benchmarks.gpu --device cpu --smoke`: the prepared GPU run works end to end
(its figures on the CPU mean nothing), so that a GPU session only has to run it."""

import json
import subprocess
import sys

import pytest

from tests import PROJECT_ROOT


@pytest.mark.slow
def test_gpu_script_smoke_run_on_the_cpu(shared_dir, tmp_path):
    # Given / When: the smoke sizes on the CPU, with the real model and data
    output = tmp_path / "gpu.jsonl"
    command = [sys.executable, "-m", "scripts.benchmarks.gpu", "--device", "cpu"]
    command += ["--smoke", "--shared", str(shared_dir), "--output", str(output)]
    command += ["--model", str(shared_dir / "models/all-MiniLM-L6-v2")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=PROJECT_ROOT)

    # Then: one JSON line per figure, training for both tools, embedding for every CPU path
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in output.read_text().splitlines()]
    training = {r["tool"] for r in records if r["figure"] == "training_tokens_per_s"}
    embedding = {r["path"] for r in records if r["figure"] == "embedding_texts_per_s"}
    assert training == {"declutr", "sentence-transformers"}
    assert embedding == {
        "declutr:torch:float32",
        "declutr:torch:bfloat16",
        "declutr:onnx:float32",
        "declutr:openvino:float32",
        "declutr:openvino:bfloat16",
        "st:torch:float32",
    }
    assert all(r["value"] > 0 and r["smoke"] for r in records)
