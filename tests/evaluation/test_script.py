import json

import pytest
from typer.testing import CliRunner

from declutr.cli import app
from declutr.evaluation.tasks import checksums


@pytest.fixture(scope="module")
def script():
    """`declutr evaluate`."""
    return app


def run(script, *args):
    return CliRunner().invoke(script, ["evaluate"] + [str(arg) for arg in args])


def test_writes_json_and_prints_a_table(script, tiny_model, senteval_dir, tmp_path):
    output = tmp_path / "results" / "tiny.json"

    result = run(
        script, tiny_model, "--data-dir", senteval_dir, "--tasks", "STSBenchmark,MR",
        "--output", output, "--batch-size", 4, "--device", "cpu", "--max-length", 16,
        "--no-progress",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "STSBenchmark  spearman" in result.stdout and "Wall time" in result.stdout
    record = json.loads(output.read_text())
    assert record["model"] == tiny_model and record["tasks"] == ["STSBenchmark", "MR"]
    assert record["encoder"] == {
        "device": "cpu",
        "batch_size": 4,
        "max_length": 16,
        "dim": 32,
        "precision": "float32",
        "backend": "torch",
        "long_texts": "truncate",
    }
    assert record["checksums"]["MR"] == checksums(senteval_dir, "MR")
    assert set(record["results"]) == {"STSBenchmark", "MR"}
    assert record["total_wall_time_s"] >= record["wall_time_s"] > 0
    assert {"torch", "transformers", "scikit-learn"} <= set(record["versions"])
    mrpc = {"c_grid": [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0], "kfold": 10}  # SentEval's
    assert record["classifier"]["mrpc"] == mrpc and record["classifier"]["seed"] == 1111


def test_unknown_task(script, senteval_dir):
    result = run(script, "unused-model", "--data-dir", senteval_dir, "--tasks", "MR,Nope")
    assert result.exit_code == 1
    assert "Unknown task(s) 'Nope'; valid: STS12" in result.output


def test_missing_files(script, tmp_path):
    result = run(script, "unused-model", "--data-dir", tmp_path, "--tasks", "TREC")
    assert result.exit_code == 1
    assert f"TREC: {tmp_path / 'TREC' / 'train_5500.label'}" in result.output
    assert "get_transfer_data.bash" in result.output


def test_a_max_length_beyond_the_model_is_refused_naming_the_largest(
    script, tiny_model, senteval_dir
):
    # Given the tiny RoBERTa (514 positions: 510 tokens besides <s> and </s>)
    # When it is evaluated with --max-length 511
    result = run(
        script, tiny_model, "--data-dir", senteval_dir, "--tasks", "MR", "--max-length", 511,
        "--device", "cpu", "--no-progress",
    )  # fmt: skip
    # Then it fails before encoding, naming the largest allowed value
    assert result.exit_code == 1
    assert "max_length=511 is more than" in result.output and "at most 510" in result.output
