"""Tests of the streaming document reader: formats, decoding errors, laziness."""

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import declutr.data.documents as documents
from declutr.data.documents import DocumentFormatError, is_json_lines, iter_lines

TEXTS = ["The first document.", "", "A second one, with ünïcödé.", "Third."]


def write_text(path: Path, lines, compress: bool = False) -> Path:
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_jsonl(path: Path, texts, compress: bool = False) -> Path:
    return write_text(
        path, [json.dumps({"text": text, "id": i}) for i, text in enumerate(texts)], compress
    )


def error_at(path: Path, line_number: int) -> str:
    return re.escape(f"{path}, line {line_number}:")


@pytest.mark.parametrize(
    "name, writer, compress",
    [
        ("docs.txt", write_text, False),
        ("docs.jsonl", write_jsonl, False),
        ("docs.txt.gz", write_text, True),
        ("docs.jsonl.gz", write_jsonl, True),
        ("DOCS.JSONL.GZ", write_jsonl, True),
    ],
)
def test_iter_lines_reads_every_format_the_same(tmp_path, name, writer, compress):
    # Given the same documents, an empty one included, written in one of the formats
    path = writer(tmp_path / name, TEXTS, compress)
    # When the file is read
    lines = list(iter_lines(path))
    # Then every line comes back, numbered from 1, the empty one as ""
    assert lines == list(enumerate(TEXTS, start=1))


def test_iter_lines_accepts_string_paths(tmp_path):
    # Given a path given as a string
    path = write_text(tmp_path / "docs.txt", ["only line"])
    # When / Then it is read like a Path
    assert list(iter_lines(str(path))) == [(1, "only line")]


def test_iter_lines_strips_crlf_and_surrounding_whitespace_but_splits_only_on_newline(tmp_path):
    # Given Windows line endings, padding and a lone carriage return inside a line
    path = tmp_path / "docs.txt"
    path.write_bytes(b"first\r\n  second  \r\n\r\nthird\rstill third\r\n")
    # When the file is read
    lines = list(iter_lines(path))
    # Then CR LF ends a line, surrounding whitespace goes, and a lone CR does not split a line
    assert lines == [(1, "first"), (2, "second"), (3, ""), (4, "third\rstill third")]


def test_iter_lines_reads_a_last_line_without_newline(tmp_path):
    # Given a file whose last line has no newline
    path = tmp_path / "docs.txt"
    path.write_bytes(b"one\ntwo")
    # When / Then both lines are read
    assert list(iter_lines(path)) == [(1, "one"), (2, "two")]


def test_iter_lines_keeps_whitespace_only_jsonl_lines_as_empty(tmp_path):
    # Given a JSON lines file with a blank line and a blank "text"
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "a"}\n   \n{"text": "  "}\n', encoding="utf-8")
    # When / Then both blanks are empty documents, not errors
    assert list(iter_lines(path)) == [(1, "a"), (2, ""), (3, "")]


def test_jsonl_detection_follows_the_file_name():
    # Given / When / Then
    assert is_json_lines("a/b.jsonl") and is_json_lines("b.JSONL.gz")
    assert not is_json_lines("b.txt") and not is_json_lines("b.json") and not is_json_lines("b.gz")


@pytest.mark.parametrize("compress", [False, True])
def test_invalid_utf8_names_the_file_and_line(tmp_path, compress):
    # Given a file whose second line is Latin-1, not UTF-8
    data = b"fine\ncaf\xe9 au lait\nfine again\n"
    path = tmp_path / ("docs.txt.gz" if compress else "docs.txt")
    path.write_bytes(gzip.compress(data) if compress else data)
    lines = iter_lines(path)
    # When the file is read
    # Then the first line comes back, and the second fails naming the file, the line and the byte
    assert next(lines) == (1, "fine")
    with pytest.raises(DocumentFormatError, match=error_at(path, 2) + " invalid UTF-8 at byte 3"):
        next(lines)


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"text": "unterminated}', "invalid JSON"),
        ("plain text in a jsonl file", "invalid JSON"),
        ('{"body": "no text key"}', re.escape("got dict with keys ['body']")),
        ('{"text": 42}', "got dict with keys"),
        ('{"text": null}', "got dict with keys"),
        ('["text", "in", "an", "array"]', "got list"),
        ('"a bare string"', "got str"),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_bad_json_lines_name_the_file_and_line(tmp_path, line, message, compress):
    # Given a JSON lines file whose third line is not an object with a string "text"
    path = tmp_path / ("docs.jsonl.gz" if compress else "docs.jsonl")
    write_text(path, ['{"text": "one"}', '{"text": "two"}', line], compress)
    # When / Then reading it fails naming the file, the line and the problem
    with pytest.raises(DocumentFormatError, match=error_at(path, 3) + ".*" + message):
        list(iter_lines(path))


def test_document_format_error_is_a_value_error():
    # Given / When / Then callers catching ValueError also catch decoding errors
    assert issubclass(DocumentFormatError, ValueError)


def test_truncated_gzip_raises_document_format_error(tmp_path):
    # Given a gzip file cut off half way
    data = gzip.compress("".join(f"document number {i}\n" for i in range(5000)).encode())
    path = tmp_path / "docs.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    # When / Then reading it to the end fails, naming the file and asking whether it is truncated
    with pytest.raises(DocumentFormatError, match=re.escape(f"{path}: cannot read past line")):
        for _ in iter_lines(path):
            pass


def test_a_gzipped_file_not_named_gz_fails_at_line_1_saying_it_looks_gzipped(tmp_path):
    # Given gzip-compressed documents in a file named .txt
    path = tmp_path / "docs.txt"
    path.write_bytes(gzip.compress(b"first\nsecond\n"))
    # When / Then it is read as text (compression follows the name): line 1 is not UTF-8, and
    # the error says the file starts with gzip's magic bytes and how to name it
    with pytest.raises(DocumentFormatError, match=error_at(path, 1) + " invalid UTF-8") as raised:
        list(iter_lines(path))
    assert "starts with gzip's magic bytes: if it is gzip-compressed, name it *.gz" in str(
        raised.value
    )


def test_text_that_starts_with_gzip_magic_is_read_as_text(tmp_path):
    # Given a .txt file that starts with gzip's magic bytes (1f 8b) but is not gzip
    path = tmp_path / "docs.txt"
    path.write_bytes(b"\x1f\x8b\nfine\n")
    # When / Then the error names line 1 as invalid UTF-8, not a gzip failure at line 0
    with pytest.raises(DocumentFormatError, match=error_at(path, 1) + " invalid UTF-8 at byte 1"):
        list(iter_lines(path))
    # And with a plain first line the same bytes later in the file are just an invalid line
    path.write_bytes(b"fine\n\x1f\x8b\n")
    with pytest.raises(DocumentFormatError, match=error_at(path, 2) + " invalid UTF-8") as raised:
        list(iter_lines(path))
    assert "Re-encode the file as UTF-8" in str(raised.value)


@pytest.mark.parametrize("name", ["docs.txt.gz", "docs.JSONL.GZ"])
def test_a_file_named_gz_that_is_not_gzip_is_refused_up_front(tmp_path, name):
    # Given plain text in a file whose name ends in .gz
    path = write_text(tmp_path / name, ["plain text"])
    # When / Then reading it fails before any line, naming the file and the mismatch
    message = re.escape(f"{path}: named .gz but not gzip-compressed (it starts with b'pl'")
    with pytest.raises(DocumentFormatError, match=message):
        list(iter_lines(path))


def test_an_empty_gz_file_reads_as_empty(tmp_path):
    # Given an empty file named .gz
    path = tmp_path / "empty.txt.gz"
    path.write_bytes(b"")
    # When / Then it has no lines
    assert list(iter_lines(path)) == []


def test_missing_file_raises_file_not_found(tmp_path):
    # Given a path that does not exist
    path = tmp_path / "missing.txt"
    # When / Then reading it raises FileNotFoundError, not a format error
    with pytest.raises(FileNotFoundError):
        list(iter_lines(path))


@pytest.mark.parametrize("name", ["big.txt", "big.txt.gz", "big.jsonl"])
def test_iter_lines_is_lazy(tmp_path, name):
    # Given a large file whose last line cannot be decoded
    lines = [f"line {i} " + "word " * 20 for i in range(50_000)]
    if name.endswith(".jsonl"):
        lines = [json.dumps({"text": line}) for line in lines]
    data = "".join(line + "\n" for line in lines).encode() + b"\xff\xfe\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    # When only the first lines are taken
    iterator = iter_lines(path)
    first = [next(iterator) for _ in range(3)]
    # Then they come back without the bad last line having been decoded
    assert isinstance(iterator, Iterator)
    assert [number for number, _ in first] == [1, 2, 3]
    assert first[0][1] == "line 0 " + "word " * 19 + "word"
    # And reading on does reach it
    with pytest.raises(DocumentFormatError, match=error_at(path, 50_001)):
        for _ in iterator:
            pass


def test_iter_lines_reads_only_a_buffer_ahead(tmp_path, monkeypatch):
    # Given a 5 MB plain text file, and a record of the handle iter_lines opens
    path = write_text(tmp_path / "big.txt", ["x" * 99] * 50_000)
    handles = []

    def recording_open_binary(file_path):
        handle = real_open_binary(file_path)
        handles.append(handle)
        return handle

    real_open_binary = documents.open_binary
    monkeypatch.setattr(documents, "open_binary", recording_open_binary)
    # When the first line is read
    iterator = iter_lines(path)
    assert next(iterator) == (1, "x" * 99)
    # Then only about one read buffer of the file has been read from disk
    assert handles[0].raw.tell() <= 1 << 16 < path.stat().st_size
    iterator.close()
    assert handles[0].closed
