"""Streaming document files: one document per line, plain text or JSON lines, optionally gzipped.

The format follows the file name: `*.jsonl` (or `*.jsonl.gz`) holds one JSON object per line with
a `"text"` string; anything else is plain text. Lines are read one at a time, so memory does not
grow with the file size. Decoding errors name the file and the 1-based line number.
"""

import gzip
import json
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


def open_binary(path: PathLike) -> IO[bytes]:
    """Open `path` for reading bytes, decompressing gzip (detected by its magic number)."""
    handle = open(path, "rb")
    if handle.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[attr-defined]
        handle.close()
        return gzip.open(path, "rb")
    return handle


def _decode_line(raw: bytes, path: PathLike, line_number: int, json_lines: bool) -> Optional[str]:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DocumentFormatError(
            f"{path}, line {line_number}: invalid UTF-8 at byte {error.start} "
            f"({raw[error.start : error.start + 4]!r}). Re-encode the file as UTF-8."
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
    text = record.get("text") if isinstance(record, dict) else None
    if not isinstance(text, str):
        raise DocumentFormatError(
            f'{path}, line {line_number}: expected a JSON object with a string "text" field, '
            f"got {type(record).__name__}"
            + (f" with keys {sorted(record)}" if isinstance(record, dict) else "")
            + "."
        )
    return text


def iter_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """Yield `(line_number, text)` for every line of a document file, 1-based, stripped.

    Empty lines are yielded too (as `""`), so callers can count them. Only `\\n` ends a line;
    a `\\r` before it is stripped with the other surrounding whitespace.
    """
    json_lines = is_json_lines(path)
    line_number = 0
    try:
        with open_binary(path) as handle:
            for line_number, raw in enumerate(handle, start=1):
                text = _decode_line(raw, path, line_number, json_lines)
                yield line_number, (text or "").strip()
    except FileNotFoundError:
        raise
    except (EOFError, OSError) as error:  # truncated or corrupt gzip, unreadable file
        raise DocumentFormatError(
            f"{path}: cannot read past line {line_number} ({error}). "
            "Is the file truncated or not really gzip?"
        ) from error
