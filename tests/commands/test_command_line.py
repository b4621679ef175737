"""True command-line runs of `allennlp train` and `allennlp predict` (each pays allennlp's
start-up, so there are only a few)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE, PROJECT_ROOT, quickstart_overrides

ALLENNLP = [sys.executable, "-m", "allennlp"]


def run(args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def trained_archive(tiny_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "out"
    overrides = quickstart_overrides()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MODEL_VARIABLE, tiny_model)  # the subprocess inherits it
        run(
            ALLENNLP
            + ["train", str(CONFIG_ROOT / "quickstart.jsonnet"), "-s", str(out)]
            + ["--include-package", "declutr", "--overrides", json.dumps(overrides)],
            cwd=PROJECT_ROOT,
        )
    return out / "model.tar.gz"


def predict(archive: Path, input_file: Path, output_file: Path, *extra: str) -> np.ndarray:
    run(
        ALLENNLP
        + ["predict", str(archive), str(input_file), "--output-file", str(output_file)]
        + ["--include-package", "declutr", "--silent", "--batch-size", "3", *extra],
        cwd=PROJECT_ROOT,
    )
    lines = output_file.read_text().splitlines()
    assert all(set(json.loads(line)) == {"embeddings"} for line in lines)
    return np.array([json.loads(line)["embeddings"] for line in lines])


@pytest.mark.slow
def test_train_then_predict_jsonl_and_text_alike(trained_archive, tmp_path):
    # Given texts as JSON lines and the same texts as a plain text file
    texts = [line[:300] for line in DOCUMENTS.read_text().splitlines()[:5]] + ["short one"]
    jsonl = tmp_path / "texts.jsonl"
    jsonl.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    plain = tmp_path / "texts.txt"
    plain.write_text("".join(t + "\n" for t in texts))
    # When allennlp predict embeds both (the text file through the dataset reader), with no
    # --overrides although the archive's reader samples spans
    from_json = predict(trained_archive, jsonl, tmp_path / "json-out.jsonl")
    from_text = predict(trained_archive, plain, tmp_path / "text-out.jsonl", "--use-dataset-reader")
    # Then there is one line per input, of the encoder's width, and both ways agree in order
    assert from_json.shape == (len(texts), 32)
    np.testing.assert_allclose(from_text, from_json, rtol=1e-5, atol=1e-6)
    # And different texts get different vectors
    assert not np.allclose(from_json[0], from_json[1])
