"""Hostile input to prediction: the "declutr" predictor (in-process `allennlp predict` included)
and `Encoder` treat empty, over-long and invalid texts alike.

Chosen behaviour, the same for both: empty and whitespace-only texts are embedded as given (the
empty text is the special tokens alone); over-long texts are truncated, counted, and warned about
once; invalid inputs raise a clear error (with the input line when there is one), or, when asked
(`skip_invalid` / `on_error="skip"`), give an aligned placeholder: `{"embeddings": null,
"error": ...}` or a row of NaN.
"""

import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest
from allennlp.commands import main as allennlp_main
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from declutr import Encoder
from declutr.data.documents import DocumentFormatError
from declutr.predictors.declutr import InvalidInputError
from tests.reliability import time_limit
from tests.reliability.conftest import MAX_LENGTH

ATOL = 1e-5
PREDICTOR_LOGGER = "declutr.predictors.declutr"
ENCODER_LOGGER = "declutr.inference.encoder"
LONG = "a long text that goes on and on " * 40  # well over MAX_LENGTH tokens
READER = "--use-dataset-reader"
TEN_MB = ("many words in one enormous line " * 330_000)[:10_000_000]


@pytest.fixture
def predictor(archive_file) -> Predictor:
    """A fresh predictor per test, so that its counts and its one warning start afresh."""
    return Predictor.from_archive(load_archive(str(archive_file)), "declutr")


@pytest.fixture
def skipping_predictor(archive_file) -> Predictor:
    archive = load_archive(str(archive_file))
    return Predictor.from_archive(archive, "declutr", extra_args={"skip_invalid": True})


@pytest.fixture
def encoder(archive_file) -> Encoder:
    return Encoder(archive_file, device="cpu", batch_size=2)


def embeddings(outputs: List[dict]) -> np.ndarray:
    return np.array([output["embeddings"] for output in outputs], dtype=np.float32)


def warnings_from(caplog, logger: str) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelname == "WARNING"]


def test_empty_and_whitespace_texts_embed_alike_in_predictor_and_encoder(predictor, encoder):
    # Given the empty text, whitespace-only texts, and an ordinary one
    texts = ["", " ", "\t\n  ", "an ordinary text"]
    # When both embed them
    predicted = embeddings(predictor.predict_batch_json([{"text": text} for text in texts]))
    encoded = encoder.encode(texts)
    # Then every text has a finite vector, the same from both
    assert np.isfinite(predicted).all()
    np.testing.assert_allclose(encoded, predicted, atol=ATOL, rtol=0)
    # And the empty text is the special tokens alone
    assert encoder.token_ids("") == [0, 2]


def test_long_texts_are_truncated_counted_and_warned_about_once(predictor, encoder, caplog):
    # Given texts longer than the model's maximum, embedded one by one and in batches
    with caplog.at_level(logging.WARNING):
        predictor.predict(LONG)
        predictor.predict_batch_json([{"text": LONG}, {"text": "short"}, {"text": LONG + "!"}])
        encoder.encode([LONG, "short"])
        encoder.encode(LONG + "!")
    # Then each truncation is counted, and each component warns once
    assert predictor.truncated == 3 and encoder.truncated == 2
    (predictor_warning,) = warnings_from(caplog, PREDICTOR_LOGGER)
    (encoder_warning,) = warnings_from(caplog, ENCODER_LOGGER)
    assert f"longer than the model's {MAX_LENGTH} subword tokens" in predictor_warning
    assert f"longer than max_length={MAX_LENGTH} subword tokens" in encoder_warning
    # And both keep the same first tokens
    np.testing.assert_allclose(
        encoder.encode(LONG), predictor.predict(LONG)["embeddings"], atol=ATOL, rtol=0
    )


def test_a_10_mb_text_is_embedded_quickly_from_its_beginning(predictor, encoder):
    # Given a 10 MB text, and its first 2000 characters (many more than MAX_LENGTH tokens)
    start = time.perf_counter()
    # When both embed it
    with time_limit(120):
        predicted = predictor.predict(TEN_MB)["embeddings"]
        encoded = encoder.encode(TEN_MB)
    # Then it takes little time (only its beginning is tokenized) and equals its beginning's
    assert time.perf_counter() - start < 20
    np.testing.assert_allclose(encoded, predicted, atol=ATOL, rtol=0)
    np.testing.assert_allclose(encoded, encoder.encode(TEN_MB[:2000]), atol=ATOL, rtol=0)
    assert predictor.truncated == 1 and encoder.truncated == 2


INVALID = [
    ({"txt": "typo"}, re.escape("has no \"text\" (its keys are ['txt'])")),
    ({"text": 3}, 'has a "text" that is an int, not a string'),
    ({"text": None}, 'has a "text" that is null, not a string'),
    ({"text": ["a", "b"]}, 'has a "text" that is a list, not a string'),
    ({"text": "\ud800"}, "lone surrogate"),
    (["text"], "is list .*, not a JSON object"),
    ("text", "is str .*, not a JSON object"),
]


@pytest.mark.parametrize("bad, reason", INVALID)
def test_invalid_inputs_raise_a_clear_error(predictor, bad, reason):
    # Given / When / Then an input without a valid string "text" is refused, saying why
    with pytest.raises(InvalidInputError, match='must be a JSON object with a string "text".*'):
        predictor.predict_json(bad)
    with pytest.raises(ValueError, match=reason):
        predictor.predict_batch_json([{"text": "fine"}, bad])


def test_skip_invalid_answers_every_input_in_order(predictor, skipping_predictor, caplog):
    # Given valid inputs mixed with every kind of invalid one
    valid = [{"text": "first"}, {"text": ""}, {"text": LONG}]
    inputs = [valid[0], *[bad for bad, _ in INVALID[:4]], valid[1], INVALID[4][0], valid[2]]
    # When a predictor with skip_invalid embeds them in one batch
    with caplog.at_level(logging.WARNING):
        outputs = skipping_predictor.predict_batch_json(inputs)
    # Then there is one output per input: the invalid ones name their problem
    assert len(outputs) == len(inputs)
    errors = [output for output in outputs if output["embeddings"] is None]
    assert [sorted(output) for output in errors] == [["embeddings", "error"]] * 5
    assert 'has no "text"' in errors[0]["error"] and "lone surrogate" in errors[4]["error"]
    # And the valid ones embed as without skipping, in place
    kept = [output for output in outputs if output["embeddings"] is not None]
    np.testing.assert_allclose(
        embeddings(kept), embeddings(predictor.predict_batch_json(valid)), atol=ATOL, rtol=0
    )
    # And the skips are counted, with one warning
    assert skipping_predictor.skipped == 5
    assert len([m for m in warnings_from(caplog, PREDICTOR_LOGGER) if "Skipped" in m]) == 1
    assert skipping_predictor.predict_json({"text": 1}) == {
        "embeddings": None,
        "error": 'Each input must be a JSON object with a string "text"; this one has a "text" '
        "that is an int, not a string.",
    }


def test_skip_invalid_must_be_a_boolean(archive_file):
    with pytest.raises(TypeError, match="skip_invalid must be true or false, got 'yes'"):
        Predictor.from_archive(load_archive(str(archive_file)), extra_args={"skip_invalid": "yes"})


def run_predict(archive_file: Path, input_file: Path, output_file: Path, monkeypatch, *extra):
    """`allennlp predict ... --silent`, run in-process."""
    argv = ["allennlp", "predict", str(archive_file), str(input_file)]
    argv += ["--output-file", str(output_file), "--silent", "--batch-size", "2", *extra]
    monkeypatch.setattr(sys, "argv", argv + ["--include-package", "declutr"])
    allennlp_main(prog="allennlp")
    return [json.loads(line) for line in output_file.read_text().splitlines()]


BAD_LINES = [
    '{"text": "first"}',
    "{not json",
    '{"body": "no text"}',
    '{"text": 42}',
    '{"text": "   "}',
    "[1, 2]",
    '{"text": "last"}',
]


def test_cli_refuses_a_bad_line_naming_it(archive_file, tmp_path, monkeypatch):
    # Given JSON lines whose second line is not JSON
    input_file = tmp_path / "in.jsonl"
    input_file.write_text("\n".join(BAD_LINES) + "\n", encoding="utf-8")
    # When / Then `allennlp predict` stops there, naming the line and the option to skip
    first = re.escape("Input line 2 (not counting blank lines) is not valid JSON")
    with pytest.raises(InvalidInputError, match=first):
        run_predict(archive_file, input_file, tmp_path / "out.jsonl", monkeypatch)
    # And without that line, at the next one
    message = re.escape('Input line 2 (not counting blank lines) has no "text"') + ".*"
    message += re.escape("""Pass --predictor-args '{"skip_invalid": true}' to skip""")
    input_file.write_text("\n".join(BAD_LINES[:1] + BAD_LINES[2:]) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message):
        run_predict(archive_file, input_file, tmp_path / "out.jsonl", monkeypatch)


def test_cli_skip_invalid_keeps_one_output_line_per_input_line(
    archive_file, predictor, tmp_path, monkeypatch
):
    # Given JSON lines mixing valid and invalid inputs
    input_file = tmp_path / "in.jsonl"
    input_file.write_text("\n".join(BAD_LINES) + "\n", encoding="utf-8")
    # When `allennlp predict` runs with --predictor-args '{"skip_invalid": true}'
    args = ["--predictor-args", json.dumps({"skip_invalid": True})]
    outputs = run_predict(archive_file, input_file, tmp_path / "out.jsonl", monkeypatch, *args)
    # Then output line i answers input line i: errors name the line and the problem
    assert len(outputs) == len(BAD_LINES)
    failed = [i for i, output in enumerate(outputs, start=1) if output["embeddings"] is None]
    assert failed == [2, 3, 4, 6]
    assert outputs[1]["error"].startswith("Input line 2 (not counting blank lines) is not valid")
    assert 'has a "text" that is an int' in outputs[3]["error"]
    # And the valid lines (whitespace-only text included) embed as the predictor embeds them
    expected = [predictor.predict(json.loads(BAD_LINES[i])["text"]) for i in (0, 4, 6)]
    kept = [outputs[i] for i in (0, 4, 6)]
    np.testing.assert_allclose(embeddings(kept), embeddings(expected), atol=ATOL, rtol=0)


def test_cli_json_input_drops_blank_lines_upstream(archive_file, tmp_path, monkeypatch):
    # Given JSON lines with a blank and a whitespace-only line between records
    input_file = tmp_path / "in.jsonl"
    input_file.write_text('{"text": "a"}\n\n   \n{"text": "b"}\n', encoding="utf-8")
    # When `allennlp predict` reads them as JSON
    outputs = run_predict(archive_file, input_file, tmp_path / "out.jsonl", monkeypatch)
    # Then allennlp (`_PredictManager._get_json_data`) drops the blank lines before the predictor
    # sees them: outputs follow the records, not the lines (the documented limitation; if this
    # fails, allennlp changed, and the predictor's docstring and line numbers must follow)
    assert len(outputs) == 2


def test_cli_dataset_reader_input_keeps_every_line(archive_file, predictor, tmp_path, monkeypatch):
    # Given a plain text file with an empty and a whitespace-only line
    lines = ["first", "", "   ", LONG, "last"]
    input_file = tmp_path / "in.txt"
    input_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # When `allennlp predict --use-dataset-reader` embeds it
    output_file = tmp_path / "out.jsonl"
    outputs = run_predict(archive_file, input_file, output_file, monkeypatch, READER)
    # Then every line has its output, blank lines as the empty text (lines are stripped)
    expected = [predictor.predict(line.strip()) for line in lines]
    np.testing.assert_allclose(embeddings(outputs), embeddings(expected), atol=ATOL, rtol=0)


def test_cli_dataset_reader_input_fails_naming_the_file_and_line(
    archive_file, tmp_path, monkeypatch
):
    # Given a JSON lines file whose second record has no "text"
    input_file = tmp_path / "in.jsonl"
    input_file.write_text('{"text": "a"}\n{"body": "b"}\n', encoding="utf-8")
    # When / Then reading it with the reader fails naming the file and line
    with pytest.raises(DocumentFormatError, match=re.escape(f"{input_file}, line 2: expected")):
        run_predict(archive_file, input_file, tmp_path / "out.jsonl", monkeypatch, READER)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (3, TypeError, "Texts must be strings; text 1 is 3"),
        (None, TypeError, "Texts must be strings; text 1 is None"),
        ("\ud800 lone", ValueError, "Text 1 holds a lone surrogate"),
    ],
)
def test_encoder_refuses_or_skips_invalid_texts(encoder, bad, error, message, caplog):
    texts = ["first", bad, "", "last"]
    # Given / When / Then by default an invalid text raises, naming its index
    with pytest.raises(error, match=message):
        encoder.encode(texts)
    # And with on_error="skip" its row is NaN, the others as without it, and it is counted
    with caplog.at_level(logging.WARNING):
        rows = encoder.encode(texts, on_error="skip")
    assert np.isnan(rows[1]).all() and np.isfinite(rows[[0, 2, 3]]).all()
    expected = encoder.encode(["first", "", "last"])
    np.testing.assert_allclose(rows[[0, 2, 3]], expected, atol=ATOL, rtol=0)
    assert encoder.skipped == 1 and len(warnings_from(caplog, ENCODER_LOGGER)) == 1


def test_encoder_on_error_is_validated(encoder, tmp_path):
    with pytest.raises(ValueError, match=r"on_error must be one of \('raise', 'skip'\), got 'x'"):
        encoder.encode(["text"], on_error="x")
    (tmp_path / "in.txt").write_text("text\n", encoding="utf-8")
    with pytest.raises(ValueError, match="on_error must be one of"):
        encoder.encode_file(tmp_path / "in.txt", tmp_path / "out.npy", on_error="ignore")


ENCODE_FILE_LINES = [
    b'{"text": "first"}',
    b"{broken",
    b'{"text": "caf\xe9"}',  # Latin-1, not UTF-8
    b"",
    b'{"text": null}',
    b'{"text": "last"}',
]


@pytest.mark.parametrize("suffix", [".npy", ".jsonl"])
def test_encode_file_refuses_or_skips_bad_lines_keeping_rows_aligned(encoder, tmp_path, suffix):
    # Given a JSON lines file with undecodable lines among valid and empty ones
    input_file = tmp_path / "in.jsonl"
    input_file.write_bytes(b"\n".join(ENCODE_FILE_LINES) + b"\n")
    output_file = tmp_path / f"out{suffix}"
    # When / Then by default the first bad line fails, naming the file and line
    with pytest.raises(DocumentFormatError, match=re.escape(f"{input_file}, line 2: invalid JSON")):
        encoder.encode_file(input_file, output_file)
    # And with on_error="skip" every line has its row, the bad ones empty
    assert encoder.encode_file(input_file, output_file, on_error="skip") == 6
    if suffix == ".npy":
        rows = np.load(output_file)
        bad = [i for i in range(6) if np.isnan(rows[i]).any()]
    else:
        lines = [json.loads(line) for line in output_file.read_text().splitlines()]
        bad = [i for i, line in enumerate(lines) if line["embeddings"] is None]
        assert lines[2]["error"].startswith(f"{input_file}, line 3: invalid UTF-8")
        rows = np.array([line["embeddings"] or [np.nan] * encoder.dim for line in lines])
    assert bad == [1, 2, 4] and encoder.skipped == 3
    expected = encoder.encode(["first", "", "last"])
    np.testing.assert_allclose(rows[[0, 3, 5]], expected, atol=ATOL, rtol=0)
