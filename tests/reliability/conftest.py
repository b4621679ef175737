"""A tiny DeCLUTR archive trained once for the reliability tests (readers keep 32 tokens)."""

from pathlib import Path

import pytest
from allennlp.commands.train import train_model_from_file

from tests import DOCUMENTS, FIXTURES_ROOT

MAX_LENGTH = 32  # the fixture experiment's reader max_length


@pytest.fixture(scope="session")
def archive_file(tiny_model: str, tmp_path_factory) -> Path:
    """`model.tar.gz` of the fixture experiment (no feedforward), trained for one epoch."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DECLUTR_TEST_MODEL", tiny_model)
    monkeypatch.setenv("DECLUTR_TEST_DOCUMENTS", str(DOCUMENTS))
    out = tmp_path_factory.mktemp("reliability") / "out"
    try:
        train_model_from_file(str(FIXTURES_ROOT / "configs" / "declutr.jsonnet"), str(out))
    finally:
        monkeypatch.undo()
    return out / "model.tar.gz"
