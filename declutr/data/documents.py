"""Streaming document files: one document per line, plain text or JSON lines, optionally gzipped.

The format follows the file name: `*.jsonl` (or `*.jsonl.gz`) holds one JSON object per line with
a `"text"` string; anything else is plain text. Lines are read one at a time, so memory does not
grow with the file size. Decoding errors name the file and the 1-based line number.

Compression also follows the file name, and only the name: a name ending in `.gz` (any case) is
gunzipped, any other file is read as it is, whatever its first bytes. The content is looked at
only to explain a failure: a `.gz` file that does not start with gzip's magic bytes (`1f 8b`) is
refused up front as "not gzip", and when line 1 of a file not named `.gz` is not UTF-8 because the
file starts with gzip's magic bytes, the error (naming line 1) adds that the file looks
gzip-compressed and should be named `*.gz`. So a plain text file whose first bytes happen to be
`1f 8b` is read, and fails, as the text it is named.

What counts as a line, and what is refused:

- Only `\\n` ends a line. `\\r\\n` endings work (the `\\r` is stripped with the other surrounding
  whitespace), but a lone `\\r` (or `\\v`, `\\f`, U+2028...) inside a line does not split it.
- NUL bytes and other control characters are kept: they are text like any other.
- A UTF-8 byte order mark at the start of the file is dropped.
- Invalid UTF-8, a line that is not a JSON object with a string `"text"` (in a `.jsonl` file;
  `null`, numbers, lists and missing keys included), JSON too deeply nested or with too long a
  number to parse, and a `"text"` holding a lone surrogate (`"\\ud800"`, not valid Unicode) raise
  `DocumentFormatError` naming the file and line.
- A truncated or corrupt gzip file raises `DocumentFormatError` naming the file and the last line
  read, once that point is reached.
"""

import gzip
import json
import zlib
from contextlib import closing
from pathlib import Path
from typing import IO, Iterator, Optional, Tuple, Union

PathLike = Union[str, Path]


class DocumentFormatError(ValueError):
    """A line of a document file cannot be decoded; the message names the file and line."""


def is_json_lines(path: PathLike) -> bool:
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[: -len(".gz")]
    return name.endswith(".jsonl")


GZIP_MAGIC = b"\x1f\x8b"


def is_gzip_name(path: PathLike) -> bool:
    """Whether `path` names a gzip-compressed file: its name ends in `.gz` (any case)."""
    return Path(path).name.lower().endswith(".gz")


def open_binary(path: PathLike) -> IO[bytes]:
    """Open `path` for reading bytes, gunzipping it if its name ends in `.gz` (`is_gzip_name`).

    A `.gz` file that does not start with gzip's magic bytes raises `DocumentFormatError` (an
    empty one reads as empty).
    """
    if not is_gzip_name(path):
        return open(path, "rb")
    with open(path, "rb") as raw:
        head = raw.read(2)
    if head and head != GZIP_MAGIC:
        raise DocumentFormatError(
            f"{path}: named .gz but not gzip-compressed (it starts with {head!r}, not gzip's "
            f"magic bytes {GZIP_MAGIC!r}). Compression is recognised by the file name: drop the "
            ".gz from the name, or compress the file with gzip."
        )
    return gzip.open(path, "rb")


def decode_line(raw: bytes, path: PathLike, line_number: int, json_lines: bool) -> Optional[str]:
    """Line `line_number` of `path` decoded (its `"text"` if `json_lines`); raises
    `DocumentFormatError` naming the file and line."""
    try:
        line = raw.decode("utf-8-sig" if line_number == 1 else "utf-8")
    except UnicodeDecodeError as error:
        looks_gzipped = line_number == 1 and raw.startswith(GZIP_MAGIC) and not is_gzip_name(path)
        raise DocumentFormatError(
            f"{path}, line {line_number}: invalid UTF-8 at byte {error.start} "
            f"({raw[error.start : error.start + 4]!r}). "
            + (
                "The file starts with gzip's magic bytes: if it is gzip-compressed, name it "
                "*.gz (compression is recognised by the file name only)."
                if looks_gzipped
                else "Re-encode the file as UTF-8."
            )
        ) from None
    if not json_lines or not line.strip():
        return line
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise DocumentFormatError(
            f"{path}, line {line_number}: invalid JSON ({error.msg} at column {error.colno}). "
            'Each line of a .jsonl file must be one JSON object such as {"text": "..."}.'
        ) from None
    except (ValueError, RecursionError) as error:  # too long an integer, too deep nesting
        raise DocumentFormatError(
            f"{path}, line {line_number}: JSON that cannot be parsed ({type(error).__name__}: "
            f"{str(error)[:200]})."
        ) from None
    text = record.get("text") if isinstance(record, dict) else None
    if not isinstance(text, str):
        raise DocumentFormatError(
            f'{path}, line {line_number}: expected a JSON object with a string "text" field, '
            f"got {type(record).__name__}"
            + (f" with keys {sorted(record)}" if isinstance(record, dict) else "")
            + "."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise DocumentFormatError(
            f'{path}, line {line_number}: the "text" holds a lone surrogate '
            f"({text[error.start]!r} at character {error.start}), which is not valid Unicode."
        ) from None
    return text


def iter_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """Yield `(line_number, text)` for every line of a document file, 1-based, stripped.

    Empty lines are yielded too (as `""`), so callers can count them. Only `\\n` ends a line;
    a `\\r` before it is stripped with the other surrounding whitespace. The first line that
    cannot be decoded raises `DocumentFormatError` (see the module's docstring).
    """
    with closing(iter_lines_or_errors(path)) as lines:
        for line_number, text in lines:
            if isinstance(text, DocumentFormatError):
                raise text
            yield line_number, text


def iter_lines_or_errors(path: PathLike) -> Iterator[Tuple[int, Union[str, DocumentFormatError]]]:
    """As `iter_lines`, but a line that cannot be decoded gives its `DocumentFormatError` in
    place of its text, and reading goes on: callers can skip bad lines and keep the others
    aligned with their line numbers. A file that cannot be read on (truncated or corrupt gzip)
    still raises.
    """
    json_lines = is_json_lines(path)
    line_number = 0
    try:
        with open_binary(path) as handle:
            for line_number, raw in enumerate(handle, start=1):
                try:
                    text = decode_line(raw, path, line_number, json_lines)
                except DocumentFormatError as error:
                    yield line_number, error
                    continue
                yield line_number, (text or "").strip()
    except FileNotFoundError:
        raise
    except (EOFError, OSError, zlib.error) as error:  # truncated or corrupt gzip, unreadable file
        raise DocumentFormatError(
            f"{path}: cannot read past line {line_number} ({type(error).__name__}: {error}). "
            "Is the file truncated or not really gzip?"
        ) from error
