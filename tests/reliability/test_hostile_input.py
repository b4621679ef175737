"""Hostile and broken document files fed to `iter_lines` and the "declutr" reader.

Every case must end in one of two ways, in bounded time: the file is read, each line counted as
an instance, an empty line or a too-short document (`lines == instances + empty + too_short`),
or reading fails with the documented error (`DocumentFormatError` naming the file and line, or
the reader's "no document is long enough"). The tests build their expectations from the bytes
written, independently of the reader.
"""

import gzip
import json
import re
import time
from pathlib import Path
from typing import List, Optional

import pytest
from allennlp.data.tokenizers import PretrainedTransformerTokenizer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from declutr.data.dataset_readers import DeCLUTRDatasetReader
from declutr.data.documents import DocumentFormatError, iter_lines, iter_lines_or_errors
from tests.reliability import time_limit

# Hypothesis: few examples (each tokenizes), no per-example deadline (the machine is shared);
# every example is bounded by time_limit instead.
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SECONDS_PER_EXAMPLE = 20
# Sampling needs 2 * 1 * 4 = 8 tokens per document: short generated lines are often too short.
SAMPLING = dict(num_anchors=1, num_positives=1, max_span_len=4, min_span_len=2)
MAX_LENGTH = 16

# Any text without "\n" (which ends a line): NUL, lone "\r", other separators such as U+2028,
# a byte order mark, and every other code point except surrogates (not encodable in UTF-8).
LINE = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"),
        st.sampled_from(["\x00", "\r", "\u2028", "\x85", "\x0b", "\ufeff", " ", "\t"]),
    ),
    max_size=40,
)
ENDINGS = st.sampled_from([b"\n", b"\r\n"])


@pytest.fixture(scope="module")
def tokenizer(tiny_model) -> PretrainedTransformerTokenizer:
    return PretrainedTransformerTokenizer(tiny_model)


def readers(tokenizer) -> List[DeCLUTRDatasetReader]:
    """A sampling reader (training) and a whole-text reader keeping empty lines (prediction)."""
    return [
        DeCLUTRDatasetReader(tokenizer, seed=0, shuffle_buffer_size=0, **SAMPLING),
        DeCLUTRDatasetReader(tokenizer, max_length=MAX_LENGTH, keep_empty_lines=True),
    ]


def read(reader: DeCLUTRDatasetReader, path: Path) -> Optional[Exception]:
    """Read `path` in bounded time; check the counts; return the error reading raised, if any."""
    instances = 0
    error: Optional[Exception] = None
    with time_limit(SECONDS_PER_EXAMPLE):
        try:
            for _ in reader.read(path):
                instances += 1
        except (DocumentFormatError, ValueError) as raised:
            error = raised
    counts = reader.counts
    assert counts["lines"] == counts["instances"] + counts["empty"] + counts["too_short"]
    assert counts["instances"] == instances
    return error


def assert_no_document_long_enough(error: Optional[Exception], path: Path) -> None:
    """A sampling read may only fail because no line is long enough to sample from."""
    if error is not None:
        assert not isinstance(error, DocumentFormatError)
        assert f"No document in {path} is long enough" in str(error)


def write(path: Path, raw_lines: List[bytes], endings: List[bytes], compress: bool) -> Path:
    data = b"".join(line + ending for line, ending in zip(raw_lines, endings))
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def expected_text(line: str, number: int) -> str:
    """What a line should read as: a leading byte order mark dropped from the file, stripped."""
    return (line.removeprefix("\ufeff") if number == 1 else line).strip()


@SETTINGS
@given(
    lines=st.lists(LINE, max_size=8),
    endings=st.lists(ENDINGS, min_size=8, max_size=8),
    compress=st.booleans(),
)
@example(lines=["a\x00b", "\x00", "c\rd"], endings=[b"\r\n"] * 8, compress=False)
@example(lines=["\ufeffbom first", " \u2028 ", "e\x85f"], endings=[b"\n"] * 8, compress=True)
def test_any_unicode_text_reads_one_item_per_line(tokenizer, tmp_path, lines, endings, compress):
    # Given arbitrary Unicode lines (NUL, lone CR, U+2028...) with LF or CRLF endings
    path = write(
        tmp_path / ("docs.txt.gz" if compress else "docs.txt"),
        [line.encode("utf-8") for line in lines],
        endings,
        compress,
    )
    # When the file is read line by line
    with time_limit(SECONDS_PER_EXAMPLE):
        read_lines = list(iter_lines(path))
    # Then only "\n" splits lines, and each is stripped (a leading byte order mark dropped)
    assert read_lines == [(n, expected_text(line, n)) for n, line in enumerate(lines, start=1)]
    # And both readers account for every line; with empty lines kept, each line is an instance
    sampling, whole = readers(tokenizer)
    assert_no_document_long_enough(read(sampling, path), path)
    assert read(whole, path) is None and whole.counts["instances"] == len(lines)


BYTES_LINE = st.one_of(
    LINE.map(lambda text: text.encode("utf-8")),
    st.binary(max_size=20).map(lambda data: data.replace(b"\n", b"")),
    st.sampled_from([b"caf\xe9", b"\xff\xfe", b"\xed\xa0\x80", b"\xc3", b"\xf4\x90\x80\x80"]),
)


def first_undecodable(raw_lines: List[bytes]) -> Optional[int]:
    """1-based number of the first line that is not UTF-8 (the first may start with a BOM)."""
    for number, raw in enumerate(raw_lines, start=1):
        try:
            raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            return number
    return None


@SETTINGS
@given(
    raw_lines=st.lists(BYTES_LINE, max_size=8),
    endings=st.lists(ENDINGS, min_size=8, max_size=8),
    compress=st.booleans(),
)
@example(raw_lines=[b"fine", b"caf\xe9", b"fine"], endings=[b"\n"] * 8, compress=False)
# A .txt file that starts with gzip's magic bytes is text (compression follows the name only).
@example(raw_lines=[b"\x1f\x8b", b"00\xc2\x80\xc2\x80"], endings=[b"\n"] * 8, compress=False)
def test_invalid_utf8_fails_naming_the_first_bad_line(
    tokenizer, tmp_path, raw_lines, endings, compress
):
    # Given lines of arbitrary bytes, some perhaps not UTF-8 (Latin-1, surrogates, truncated)
    path = write(
        tmp_path / ("docs.txt.gz" if compress else "docs.txt"), raw_lines, endings, compress
    )
    bad = first_undecodable(raw_lines)
    # When it is read, keeping errors in place, every line has an item, in order
    items = list(iter_lines_or_errors(path))
    assert [number for number, _ in items] == list(range(1, len(raw_lines) + 1))
    errors = [number for number, item in items if isinstance(item, DocumentFormatError)]
    assert errors[:1] == ([bad] if bad else [])
    # And both readers either read everything or fail at the first bad line, naming it
    sampling, whole = readers(tokenizer)
    for reader in (sampling, whole):
        error = read(reader, path)
        if bad is None:
            assert_no_document_long_enough(error, path)
            assert reader is sampling or error is None
            continue
        assert isinstance(error, DocumentFormatError)
        assert str(error).startswith(f"{path}, line {bad}: invalid UTF-8")
        assert reader.counts["lines"] == bad - 1


def record_strategy() -> st.SearchStrategy:
    """(line, valid): JSON lines of every kind, valid or not."""
    text = LINE
    valid = st.builds(
        lambda t, ascii_only: json.dumps({"text": t, "id": 1}, ensure_ascii=ascii_only),
        text,
        st.booleans(),
    )
    not_string = st.one_of(
        st.none(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.text())
    )
    invalid = st.one_of(
        not_string.map(lambda value: json.dumps({"text": value})),  # "text" is not a string
        st.just(json.dumps({"body": "no text key"})),
        st.lists(st.text(max_size=3), max_size=2).map(json.dumps),  # not an object
        st.text(max_size=10).map(json.dumps),
        st.just('{"text": "unterminated'),
        text.filter(lambda line: line.strip() != "").map(lambda line: "{" + line),  # not JSON
        st.just('{"text": "\\ud800 lone surrogate"}'),
        st.just("[" * 100_000 + "]" * 100_000),  # nesting beyond the recursion limit
        st.just('{"text": "big number", "n": ' + "9" * 5000 + "}"),
    )
    blank = st.sampled_from(["", "   ", "\t"])  # whitespace-only lines are empty documents
    return st.one_of(
        valid.map(lambda line: (line, True)),
        blank.map(lambda line: (line, True)),
        invalid.map(lambda line: (line, False)),
    )


@SETTINGS
@given(records=st.lists(record_strategy(), max_size=6), compress=st.booleans())
@example(records=[('{"text": "a"}', True), ('{"text": 7}', False)], compress=False)
@example(records=[('{"text": "\\u0000 nul"}', True), ("[" * 100_000, False)], compress=True)
@example(records=[('{"text": "\\ud800 lone surrogate"}', False)], compress=False)
@example(records=[('{"text": "x", "n": ' + "9" * 5000 + "}", False)], compress=False)
def test_json_lines_fail_naming_the_first_record_without_a_string_text(
    tokenizer, tmp_path, records, compress
):
    # Given JSON lines: valid records, blank lines, and broken ones of every kind
    lines = [line.encode("utf-8") for line, _ in records]
    path = write(
        tmp_path / ("docs.jsonl.gz" if compress else "docs.jsonl"),
        lines,
        [b"\n"] * len(lines),
        compress,
    )
    bad = next((n for n, (_, valid) in enumerate(records, start=1) if not valid), None)
    # When it is read keeping errors in place, every line has an item and bad ones are errors
    items = list(iter_lines_or_errors(path))
    assert [isinstance(item, DocumentFormatError) for _, item in items] == [
        not valid for _, valid in records
    ]
    # And both readers fail at the first bad record, naming the file and the line
    sampling, whole = readers(tokenizer)
    for reader in (sampling, whole):
        error = read(reader, path)
        if bad is None:
            assert_no_document_long_enough(error, path)
            assert reader is sampling or error is None
            continue
        assert isinstance(error, DocumentFormatError)
        assert str(error).startswith(f"{path}, line {bad}: ")
        assert reader.counts["lines"] == bad - 1


@SETTINGS
@given(
    lines=st.lists(LINE, min_size=1, max_size=200),
    cut=st.floats(0.0, 0.999),
    flip=st.none() | st.tuples(st.floats(0.0, 0.999), st.integers(1, 255)),
)
# A changed first deflate byte makes zlib itself fail ("invalid stored block lengths").
@example(lines=["hello world"] * 50, cut=0.999, flip=(0.0, 1))
def test_truncated_or_corrupt_gzip_fails_naming_the_file(tmp_path, lines, cut, flip):
    # Given a gzip file cut short, perhaps with one byte of its compressed data changed
    data = bytearray(gzip.compress("".join(line + "\n" for line in lines).encode("utf-8")))
    if flip is not None:
        position = 10 + int(flip[0] * (len(data) - 10))  # after the 10-byte gzip header
        data[position] ^= flip[1]
    path = tmp_path / "docs.txt.gz"
    path.write_bytes(bytes(data[: 2 + int(cut * (len(data) - 2))]))  # keeps the gzip magic
    # When it is read
    # Then, in bounded time, reading fails with DocumentFormatError naming the file
    with time_limit(SECONDS_PER_EXAMPLE):
        with pytest.raises(DocumentFormatError, match=re.escape(str(path))):
            for _ in iter_lines(path):
                pass


def test_empty_lines_are_counted_as_empty_unless_kept(tokenizer, tmp_path):
    # Given a file of blank lines only (LF, CRLF, whitespace)
    path = tmp_path / "blank.txt"
    path.write_bytes(b"\n\r\n   \n\t\r\n")
    # When the whole-text reader reads it, without and with keep_empty_lines
    plain = DeCLUTRDatasetReader(tokenizer)
    kept = DeCLUTRDatasetReader(tokenizer, keep_empty_lines=True)
    # Then every line is counted: as empty, or as an instance of the special tokens alone
    assert read(plain, path) is None and plain.counts == {"lines": 4, "empty": 4}
    assert read(kept, path) is None and kept.counts == {"lines": 4, "instances": 4}
    assert kept.count_instances(str(path)) == 4 and plain.count_instances(str(path)) == 0
    instance = next(iter(kept.read(path)))
    assert [token.text for token in instance["anchors"].tokens] == ["<s>", "</s>"]


def test_a_10_mb_line_is_read_and_truncated_quickly(tokenizer, tmp_path):
    # Given a plain text file whose only line is 10 MB, between two short lines
    big = ("many words in one enormous line " * 330_000)[:10_000_000]
    path = tmp_path / "big.txt"
    path.write_text(f"first\n{big}\nlast\n", encoding="utf-8")
    reader = DeCLUTRDatasetReader(tokenizer, max_length=MAX_LENGTH)
    # When the whole-text reader (prediction) reads it
    start = time.perf_counter()
    with time_limit(60):
        instances = list(reader.read(path))
    # Then it is one instance truncated to max_length tokens, in little time
    assert time.perf_counter() - start < 10
    assert reader.counts == {"lines": 3, "instances": 3, "truncated": 1}
    expected = tokenizer.tokenizer(big[:2000], add_special_tokens=False)["input_ids"][:MAX_LENGTH]
    assert [token.text_id for token in instances[1]["anchors"].tokens][1:-1] == expected
    # And the lines around it are intact
    assert [len(text) for _, text in iter_lines(path)] == [5, len(big.strip()), 4]
