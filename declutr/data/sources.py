"""The documents of files, folders and tar archives (compressed or not, nested or not), read as a
stream for `declutr.data.corpus`, with counts of what could not be read.

Plain text files are one document each, or one per line; JSON lines files (`*.jsonl`) hold one
per line in their `"text"` field, decoded as the "declutr" reader decodes them
(`declutr.data.documents.decode_line`).

Compression is recognised by the name only, as the "declutr" reader recognises it: `.gz`/`.tgz`
is gzip, `.xz`/`.txz` xz, `.bz2`/`.tbz2` bzip2 (files and archive members alike); anything else
is read as it is. The first bytes are only checked: a file named as compressed that does not start
with its format's magic bytes is an unreadable source ("named .gz but not gzip-compressed"), and a
document that is not UTF-8 because it starts with compressed data is reported with a hint to name
it as compressed.
"""

import bz2
import gzip
import io
import lzma
import os
import sys
import tarfile
import zlib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import IO, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from tqdm import tqdm

from declutr.data.documents import DocumentFormatError, decode_line

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
COMPRESSION_SUFFIXES = (".gz", ".xz", ".bz2")
# Each compression by the name suffixes that select it: (format, magic bytes, opener).
Compression = Tuple[str, bytes, Callable[..., IO[bytes]]]
_GZIP: Compression = ("gzip", b"\x1f\x8b", lambda handle: gzip.GzipFile(fileobj=handle))
_XZ: Compression = ("xz", b"\xfd7zXZ\x00", lzma.LZMAFile)
_BZIP2: Compression = ("bzip2", b"BZh", bz2.BZ2File)
COMPRESSIONS: Dict[str, Compression] = {
    ".gz": _GZIP,
    ".tgz": _GZIP,
    ".xz": _XZ,
    ".txz": _XZ,
    ".bz2": _BZIP2,
    ".tbz2": _BZIP2,
}


class MisnamedCompression(OSError):
    """A file or member named as compressed that does not start with its format's magic bytes."""


# Archive-level failures: corrupt compressed data, truncated or malformed tar streams, a file
# named as compressed that is not (MisnamedCompression is an OSError).
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError)

MAX_REPORTED_PROBLEMS = 20


class TextUnit(str, Enum):
    file = "file"
    line = "line"


class UnreadableInput(ValueError):
    """A document, file or archive that cannot be read (only raised with `strict`)."""


@dataclass
class Counts:
    """What a run read, kept and dropped, and why."""

    read: int = 0
    kept: int = 0
    empty: int = 0
    too_short: int = 0
    unreadable: int = 0
    unreadable_sources: int = 0
    problems: List[str] = field(default_factory=list)

    @property
    def dropped(self) -> int:
        return self.empty + self.too_short + self.unreadable

    def report(self, problem: str) -> None:
        """Keep the first `MAX_REPORTED_PROBLEMS` problems (memory stays bounded)."""
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(problem)

    def summary(self, min_length: int, tokenizer: str) -> str:
        lines = [
            f"Read {self.read} documents: kept {self.kept}, dropped {self.dropped} "
            f"({self.empty} empty, {self.too_short} shorter than {min_length} tokens counted "
            f"by {tokenizer}, {self.unreadable} unreadable)."
        ]
        if self.unreadable_sources:
            lines.append(f"Files or archives cut short (unreadable): {self.unreadable_sources}.")
        lines.extend(f"  skipped {problem}" for problem in self.problems)
        hidden = self.unreadable + self.unreadable_sources - len(self.problems)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more.")
        return "\n".join(lines)


class DocumentReader:
    """Yields the raw documents of files, folders and archives, counting unreadable ones.

    # Parameters

    counts : `Counts`
        Receives `read`, `unreadable` and `unreadable_sources`, and problem descriptions.
    text_unit : `TextUnit`, optional (default=`TextUnit.file`)
        Whether a plain text file is one document or holds one per line.
    strict : `bool`, optional (default=`False`)
        Raise `UnreadableInput` at the first unreadable document or archive instead of skipping.
    """

    def __init__(
        self, counts: Counts, text_unit: TextUnit = TextUnit.file, strict: bool = False
    ) -> None:
        self.counts = counts
        self.text_unit = text_unit
        self.strict = strict

    def read(self, inputs: Iterable[Path]) -> Iterator[str]:
        for path in inputs:
            if path.is_dir():
                yield from self._folder(path)
            else:
                yield from self._file(path)

    def _folder(self, folder: Path) -> Iterator[str]:
        """Files of `folder` and its subfolders in sorted order, listing one folder at a time."""
        for root, folders, files in os.walk(folder):
            folders.sort()
            for name in sorted(files):
                yield from self._file(Path(root) / name)

    def _file(self, path: Path) -> Iterator[str]:
        try:
            with open(path, "rb") as raw, _decompressed(raw, path.name) as handle:
                yield from self._contents(handle, str(path), path.name.lower())
        except ARCHIVE_ERRORS as error:  # corrupt or truncated compressed data, unreadable file
            self._unreadable_source(str(path), f"{type(error).__name__}: {error}")

    def _contents(self, handle: IO[bytes], origin: str, name: str) -> Iterator[str]:
        """The documents of a decompressed file or archive member, by its name."""
        if not is_archive_name(name):
            yield from self._stream(handle, origin, _without_compression_suffix(name))
            return
        try:
            # The data is already decompressed: "r|" reads it as a stream, never seeking back.
            archive = tarfile.open(fileobj=handle, mode="r|")
        except tarfile.ReadError as error:
            self._unreadable_source(origin, f"not a tar archive ({error})")
            return
        with archive:
            yield from self._members(archive, origin)

    def _members(self, archive: tarfile.TarFile, origin: str) -> Iterator[str]:
        """The documents of every regular member, in archive order, nested archives included."""
        members = 0
        try:
            while (member := archive.next()) is not None:
                # Stream mode still remembers every member; forget them to keep memory flat.
                archive.members = []
                members += 1
                if member.isfile():
                    yield from self._member(archive, member, f"{origin}:{member.name}")
        except ARCHIVE_ERRORS as error:
            reason = f"{type(error).__name__}: {error}; {members} members read"
            self._unreadable_source(origin, reason)

    def _member(
        self, archive: tarfile.TarFile, member: tarfile.TarInfo, origin: str
    ) -> Iterator[str]:
        handle = archive.extractfile(member)
        assert handle is not None  # regular files always have content
        with _decompressed(handle, member.name) as contents:  # type: ignore[arg-type]
            yield from self._contents(contents, origin, member.name.lower())

    def _stream(self, handle: IO[bytes], origin: str, name: str) -> Iterator[str]:
        """Documents of one decompressed file: JSON lines, lines, or the whole text."""
        if name.endswith(".jsonl"):
            yield from self._json_lines(handle, origin)
        elif self.text_unit is TextUnit.line:
            for number, raw in enumerate(handle, start=1):
                yield from self._decoded(raw, f"{origin}, line {number}", hint=number == 1)
        else:
            yield from self._decoded(handle.read(), origin, hint=True)

    def _json_lines(self, handle: IO[bytes], origin: str) -> Iterator[str]:
        """The `"text"` of every non-blank line, decoded as the reader decodes it."""
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                text = decode_line(raw, origin, number, json_lines=True)
            except DocumentFormatError as error:
                self.counts.read += 1
                self.counts.unreadable += 1
                self._problem(str(error))
                continue
            self.counts.read += 1
            yield text or ""

    def _decoded(self, raw: bytes, origin: str, hint: bool = False) -> Iterator[str]:
        """`raw` decoded; with `hint` (the start of a file or member), a failure says whether the
        bytes look compressed."""
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            looks = _looks_compressed(raw) if hint else None
            reason = f"invalid UTF-8 at byte {error.start}" + (
                f" (it starts with {looks[1]}'s magic bytes: if it is {looks[1]}-compressed, "
                f"name it *{looks[0]}; compression is recognised by the name only)"
                if looks
                else ""
            )
            self._unreadable_document(origin, reason)
            return
        self.counts.read += 1
        yield text

    def _unreadable_document(self, origin: str, reason: str) -> None:
        self.counts.read += 1
        self.counts.unreadable += 1
        self._problem(f"{origin}: {reason}")

    def _unreadable_source(self, origin: str, reason: str) -> None:
        """A file or archive whose rest cannot be read."""
        self.counts.unreadable_sources += 1
        self._problem(f"the rest of {origin} ({reason})")

    def _problem(self, message: str) -> None:
        if self.strict:
            raise UnreadableInput(f"Cannot read {message}. Fix or remove it, or drop --strict.")
        self.counts.report(message)
        tqdm.write(f"Skipping {message}", file=sys.stderr)


def is_archive_name(name: str) -> bool:
    """Tar archives by name: `.tar` (optionally compressed), `.tgz`, `.txz`, `.tbz2`, and, as in
    OpenWebText, `.xz` files whose name has no other extension (`x.txt.xz` is compressed text)."""
    name = name.lower()
    if name.endswith(TAR_SUFFIXES):
        return True
    return name.endswith(".xz") and not Path(name[: -len(".xz")]).suffix


def _without_compression_suffix(name: str) -> str:
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _decompressed(handle: io.BufferedReader, name: str) -> IO[bytes]:
    """`handle`, decompressed as its `name`'s suffix says (`COMPRESSIONS`), or as it is. Raises
    `MisnamedCompression` if the data does not start with that format's magic bytes; truncated or
    corrupt data then raises (`EOFError`, `OSError`, `lzma.LZMAError`) instead of ending early, as
    tarfile's own decompression would."""
    suffix = Path(name.lower()).suffix
    if suffix not in COMPRESSIONS:
        return handle
    label, magic, opener = COMPRESSIONS[suffix]
    head = handle.peek(len(magic))[: len(magic)]
    if head and head != magic:
        raise MisnamedCompression(
            f"named {suffix} but not {label}-compressed (it starts with {head!r}, not "
            f"{magic!r}); compression is recognised by the name: rename it"
        )
    return opener(handle)


def _looks_compressed(raw: bytes) -> Optional[Tuple[str, str]]:
    """`(suffix, format)` of the compression whose magic bytes `raw` starts with, if any."""
    matches = ((suffix, c[0]) for suffix, c in COMPRESSIONS.items() if raw.startswith(c[1]))
    return next(matches, None)
