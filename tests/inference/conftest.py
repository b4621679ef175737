"""A tiny DeCLUTR model trained once per session, its predictor, encoder and export."""

import json
from pathlib import Path
from typing import List

import numpy as np
import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor
from typer.testing import CliRunner

from declutr import Encoder
from declutr.cli import app
from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE, quickstart_overrides

MAX_LENGTH = 64  # the quickstart reader's max_length: longer texts are truncated


def train(config: Path, tiny_model: str, serialization_dir: Path, **overrides) -> Path:
    """Train `config` (the quickstart config or a fixture config) on the fixtures with the tiny
    model, with short spans (documents need 2 * 2 * 32 tokens), for one epoch on the CPU."""
    overrides = quickstart_overrides(**overrides)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MODEL_VARIABLE, tiny_model)
        patch.setenv("DECLUTR_TEST_MODEL", tiny_model)
        patch.setenv("DECLUTR_TEST_DOCUMENTS", str(DOCUMENTS))
        train_model_from_file(
            str(config),
            str(serialization_dir),
            overrides=json.dumps(overrides),
        )
    return serialization_dir


@pytest.fixture(scope="session")
def serialization_dir(tiny_model: str, tmp_path_factory) -> Path:
    """A serialization directory of the quickstart config (masked LM and contrastive loss)."""
    serialization_dir = tmp_path_factory.mktemp("declutr-model") / "model"
    return train(CONFIG_ROOT / "quickstart.jsonnet", tiny_model, serialization_dir)


@pytest.fixture(scope="session")
def archive_file(serialization_dir: Path) -> Path:
    return serialization_dir / "model.tar.gz"


@pytest.fixture(scope="session")
def predictor(archive_file: Path) -> Predictor:
    return Predictor.from_archive(load_archive(str(archive_file)), "declutr")


@pytest.fixture(scope="session")
def encoder(archive_file: Path) -> Encoder:
    return Encoder(archive_file, device="cpu", batch_size=3)


@pytest.fixture(scope="session")
def exported_dir(archive_file: Path, tmp_path_factory) -> Path:
    """`declutr export ARCHIVE OUT_DIR`, run in-process."""
    output_dir = tmp_path_factory.mktemp("export") / "declutr-tiny"
    result = CliRunner().invoke(app, ["export", str(archive_file), "--output", str(output_dir)])
    assert result.exit_code == 0, result.output
    return output_dir


@pytest.fixture(scope="session")
def texts() -> List[str]:
    """Short, empty, non-ASCII and long texts (the documents exceed max_length tokens), none
    with surrounding whitespace (sentence-transformers strips it)."""
    documents = DOCUMENTS.read_text(encoding="utf-8").splitlines()
    return [
        "A short sentence.",
        documents[0],
        "",
        "Coroutines — «async def» and await, 中文, émoji 🙂.",
        documents[3][:300].strip(),
        documents[5],
        "def f(x): return x ** 2",
    ]


@pytest.fixture(scope="session")
def predicted(predictor: Predictor, texts: List[str]) -> np.ndarray:
    """The predictor's embeddings of `texts`, `(len(texts), dim)`."""
    return np.array([predictor.predict(text)["embeddings"] for text in texts], dtype=np.float32)
