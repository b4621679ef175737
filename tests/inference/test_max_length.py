"""`max_length` beyond the model is refused, naming the largest allowed value, on the paths that
take it from a trained archive: the predictor (the archive's reader) and `declutr export` (its
`Encoder`). The check itself is tested in tests/data/test_max_length.py."""

import json
import shutil
from pathlib import Path

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor
from typer.testing import CliRunner

from declutr.cli import app


def test_the_predictor_refuses_a_reader_max_length_beyond_the_model(archive_file: Path):
    # Given the tiny RoBERTa's archive (514 positions: 510 tokens besides <s> and </s>), its
    # reader's max_length overridden to 511
    overrides = {"dataset_reader.max_length": 511}
    # When / Then loading it for prediction (which builds its reader) is refused, naming 510
    with pytest.raises(ConfigurationError, match=r"max_length=511 .* at most 510"):
        Predictor.from_archive(load_archive(archive_file, overrides=overrides), "declutr")


def test_export_refuses_an_archive_whose_max_length_is_beyond_the_model(
    serialization_dir: Path, tmp_path: Path
):
    # Given a serialization directory whose reader asks for 511 tokens per text
    edited = tmp_path / "model"
    shutil.copytree(serialization_dir, edited)
    config = json.loads((edited / "config.json").read_text())
    config["dataset_reader"]["max_length"] = 511
    (edited / "config.json").write_text(json.dumps(config))
    # When it is exported
    result = CliRunner().invoke(app, ["export", str(edited), "--output", str(tmp_path / "out")])
    # Then the export fails naming 510, and writes nothing
    assert result.exit_code == 1
    assert "max_length=511 is more than" in result.output and "at most 510" in result.output
    assert not (tmp_path / "out").exists()
