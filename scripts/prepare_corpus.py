"""Prepare a DeCLUTR training corpus: one normalised document per line, each long enough to sample
spans from.

    python scripts/prepare_corpus.py INPUT... OUTPUT [--min-length N | --config CONFIG]

Inputs may be:

- plain text files (`*.txt` or anything else, optionally `.gz`/`.xz`-compressed): the whole file is
  one document, or each line is one with `--text-unit line`;
- folders, read recursively, their files taken as above (archives and JSON lines included);
- JSON lines (`*.jsonl`, optionally `.gz`): one document per line, in the `"text"` field;
- tar archives (`.tar`, `.tar.gz`, `.tgz`, `.tar.xz`, `.txz`, `.tar.bz2`, OpenWebText's `.xz`) of
  such files, archives nested in archives included (OpenWebText's `openwebtext.tar.xz` holds
  `.xz` archives of `.txt` documents).

Whitespace runs (newlines included) become one space, so each document fits on one line. Documents
with fewer than `--min-length` tokens are dropped, counted with `--tokenizer` (the model the reader
will use, so the count is the reader's; the default splits on whitespace). `--config` computes the
minimum the reader needs, `2 * num_anchors * max_span_len`, and takes the tokenizer from the same
config. Everything streams: memory does not grow with the size of the input. Unreadable documents
(bad UTF-8, bad JSON) and archives (truncated, corrupt) are skipped, reported and counted, unless
`--strict` makes them fatal.
"""

import bz2
import gzip
import importlib.util
import io
import json
import lzma
import os
import sys
import tarfile
import zlib
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import (
    IO,
    Annotated,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    NoReturn,
    Optional,
    Tuple,
)

import typer
from tqdm import tqdm

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("declutr") is None:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(PROJECT_ROOT))

TokenCounter = Callable[[List[str]], List[int]]

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
COMPRESSION_SUFFIXES = (".gz", ".xz", ".bz2")
# Archive-level failures: corrupt compressed data, truncated or malformed tar streams.
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, OSError)
TOKENIZE_BATCH = 64
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
            with open(path, "rb") as raw, _decompressed(raw) as handle:
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
        with _decompressed(handle) as contents:  # type: ignore[arg-type]
            yield from self._contents(contents, origin, member.name.lower())

    def _stream(self, handle: IO[bytes], origin: str, name: str) -> Iterator[str]:
        """Documents of one decompressed file: JSON lines, lines, or the whole text."""
        if name.endswith(".jsonl"):
            yield from self._json_lines(handle, origin)
        elif self.text_unit is TextUnit.line:
            for number, raw in enumerate(handle, start=1):
                yield from self._decoded(raw, f"{origin}, line {number}")
        else:
            yield from self._decoded(handle.read(), origin)

    def _json_lines(self, handle: IO[bytes], origin: str) -> Iterator[str]:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{origin}, line {number}"
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                self._unreadable_document(where, f"invalid JSON ({error})")
                continue
            text = record.get("text") if isinstance(record, dict) else None
            if not isinstance(text, str):
                self._unreadable_document(where, 'no string "text" field')
                continue
            self.counts.read += 1
            yield text

    def _decoded(self, raw: bytes, origin: str) -> Iterator[str]:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            self._unreadable_document(origin, f"invalid UTF-8 at byte {error.start}")
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


def _decompressed(handle: io.BufferedReader) -> IO[bytes]:
    """`handle`, decompressed if it starts with the magic number of gzip, xz or bzip2. Truncated
    or corrupt data then raises (`EOFError`, `OSError`, `lzma.LZMAError`) instead of ending
    early, as tarfile's own decompression would."""
    head = handle.peek(6)[:6]
    if head.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=handle)  # type: ignore[return-value]
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(handle)  # type: ignore[return-value]
    if head.startswith(b"BZh"):
        return bz2.BZ2File(handle)  # type: ignore[return-value]
    return handle


def normalize(text: str, lowercase: bool = False) -> str:
    """Collapse every whitespace run (newlines included) to one space and strip the ends."""
    text = " ".join(text.split())
    return text.lower() if lowercase else text


def whitespace_token_counts(texts: List[str]) -> List[int]:
    return [len(text.split()) for text in texts]


def subword_token_counter(
    name: str, tokenizer_kwargs: Optional[Dict[str, Any]] = None
) -> TokenCounter:
    """Counts subword tokens as the "declutr" reader does: the Hugging Face tokenizer `name`,
    without special tokens."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name, **(tokenizer_kwargs or {}))

    def count(texts: List[str]) -> List[int]:
        encoded = tokenizer(
            texts,
            add_special_tokens=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
        return [len(ids) for ids in encoded["input_ids"]]

    return count


def filter_documents(
    documents: Iterable[str],
    min_length: int,
    count_tokens: TokenCounter,
    counts: Counts,
    lowercase: bool = False,
) -> Iterator[str]:
    """Normalise `documents` and yield those with at least `min_length` tokens, in order.

    Tokens are counted on the normalised text, which is what the reader will see.
    """
    batch: List[str] = []
    for document in documents:
        text = normalize(document, lowercase)
        if not text:
            counts.empty += 1
            continue
        batch.append(text)
        if len(batch) == TOKENIZE_BATCH:
            yield from _long_enough(batch, min_length, count_tokens, counts)
            batch = []
    yield from _long_enough(batch, min_length, count_tokens, counts)


def _long_enough(
    texts: List[str], min_length: int, count_tokens: TokenCounter, counts: Counts
) -> Iterator[str]:
    if not texts:
        return
    for text, length in zip(texts, count_tokens(texts)):
        if length < min_length:
            counts.too_short += 1
        else:
            counts.kept += 1
            yield text


def write_documents(documents: Iterable[str], output: Path) -> int:
    """Write one document per line (`{"text": ...}` lines for `*.jsonl`, gzipped for `*.gz`) to
    `output`, through a `.partial` file renamed at the end. Returns the number written."""
    partial = output.with_name(output.name + ".partial")
    name = output.name.lower()
    json_lines = name.removesuffix(".gz").endswith(".jsonl")
    opener = gzip.open if name.endswith(".gz") else open
    written = 0
    try:
        with opener(partial, "wt", encoding="utf-8") as handle:  # type: ignore[operator]
            for text in documents:
                handle.write((json.dumps({"text": text}) if json_lines else text) + "\n")
                written += 1
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, output)
    return written


def settings_from_config(
    config: Path, overrides: str = ""
) -> Tuple[int, Optional[str], Dict[str, Any]]:
    """`(min_length, tokenizer name, tokenizer kwargs)` of a training config's reader: the
    reader keeps documents of `2 * num_anchors * max_span_len` subword tokens or more."""
    from allennlp.common import Params

    from declutr.data.span_sampling import min_document_length

    params = Params.from_file(str(config), overrides).as_dict(quiet=True)
    reader = params.get("dataset_reader", {})
    if reader.get("num_anchors") is None or reader.get("max_span_len") is None:
        raise ValueError(
            f"The dataset_reader of {config} sets no num_anchors and max_span_len, so it samples "
            "no spans and needs no minimum length; pass --min-length instead."
        )
    tokenizer = reader.get("tokenizer", {})
    return (
        min_document_length(reader["num_anchors"], reader["max_span_len"]),
        tokenizer.get("model_name"),
        tokenizer.get("tokenizer_kwargs") or {},
    )


def prepare_corpus(
    inputs: List[Path],
    output: Path,
    min_length: int = 1,
    count_tokens: TokenCounter = whitespace_token_counts,
    lowercase: bool = False,
    text_unit: TextUnit = TextUnit.file,
    strict: bool = False,
    progress: bool = True,
) -> Counts:
    """Read `inputs`, keep normalised documents of `min_length` tokens or more, write `output`.

    # Parameters

    inputs : `List[Path]`
        Files, folders and archives (see the module docstring); they must exist.
    output : `Path`
        One document per line; replaced only once the whole corpus is written.
    min_length : `int`, optional (default=`1`)
        Fewest tokens a kept document has.
    count_tokens : `TokenCounter`, optional (default=`whitespace_token_counts`)
        Token counts of a batch of texts; see `subword_token_counter`.
    lowercase : `bool`, optional (default=`False`)
        Lowercase documents (before counting tokens).
    text_unit : `TextUnit`, optional (default=`TextUnit.file`)
        Whether a plain text file is one document or one per line.
    strict : `bool`, optional (default=`False`)
        Fail on the first unreadable document or archive instead of skipping it.
    progress : `bool`, optional (default=`True`)
        Show a progress bar of documents read.

    # Returns

    The `Counts` of the run.
    """
    counts = Counts()
    documents = DocumentReader(counts, text_unit, strict).read(inputs)
    with tqdm(unit="doc", desc="Documents", disable=not progress, file=sys.stderr) as bar:
        kept = filter_documents(
            _ticking(documents, bar), min_length, count_tokens, counts, lowercase
        )
        write_documents(kept, output)
    return counts


def _ticking(documents: Iterable[str], bar: tqdm) -> Iterator[str]:
    for document in documents:
        bar.update(1)
        yield document


def _check_paths(inputs: List[Path], output: Path, force: bool) -> None:
    for path in inputs:
        if not path.exists():
            raise FileNotFoundError(f"Input {path} does not exist.")
        if path.is_dir() and output.resolve().is_relative_to(path.resolve()):
            raise ValueError(f"The output {output} is inside the input folder {path}.")
        if path.is_file() and path.resolve() == output.resolve():
            raise ValueError(f"The output {output} is also an input.")
    if output.exists() and not force:
        raise FileExistsError(f"{output} exists; pass --force to replace it.")


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    paths: Annotated[
        List[Path], typer.Argument(help="INPUT... OUTPUT: the inputs, then the output file.")
    ],
    min_length: Annotated[
        Optional[int],
        typer.Option(help="Fewest tokens a kept document has (default 1, or from --config)."),
    ] = None,
    config: Annotated[
        Optional[Path],
        typer.Option(help="Training config: min length 2 * num_anchors * max_span_len, tokenizer."),
    ] = None,
    overrides: Annotated[
        str, typer.Option(help="JSON overrides for --config, as allennlp takes them.")
    ] = "",
    tokenizer: Annotated[
        Optional[str],
        typer.Option(
            help="Hugging Face tokenizer (name or path) counting tokens; else whitespace."
        ),
    ] = None,
    lowercase: Annotated[bool, typer.Option(help="Lowercase every document.")] = False,
    text_unit: Annotated[
        TextUnit, typer.Option(help="A plain text file is one document, or one per line.")
    ] = TextUnit.file,
    strict: Annotated[
        bool, typer.Option(help="Fail on unreadable documents and archives.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace OUTPUT if it exists.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write INPUTS' documents to OUTPUT, one normalised document per line."""
    if len(paths) < 2:
        _fail("Give at least one INPUT and the OUTPUT file.")
    inputs, output = paths[:-1], paths[-1]
    try:
        _check_paths(inputs, output, force)
        min_length, tokenizer, count_tokens = _length_settings(
            min_length, config, overrides, tokenizer
        )
        counts = prepare_corpus(
            inputs, output, min_length, count_tokens, lowercase, text_unit, strict, progress
        )
    except (OSError, ValueError) as error:
        _fail(str(error))
    typer.echo(counts.summary(min_length, tokenizer or "whitespace"))
    if counts.kept == 0:
        output.unlink(missing_ok=True)
        _fail(_nothing_kept(counts, inputs))
    typer.echo(f"Wrote {counts.kept} documents to {output}.")


def _length_settings(
    min_length: Optional[int], config: Optional[Path], overrides: str, tokenizer: Optional[str]
) -> Tuple[int, Optional[str], TokenCounter]:
    """The minimum length, the tokenizer's name and its counter, from the options."""
    tokenizer_kwargs: Dict[str, Any] = {}
    if config is not None:
        if min_length is not None:
            raise ValueError("Give --min-length or --config, not both.")
        min_length, config_tokenizer, tokenizer_kwargs = settings_from_config(config, overrides)
        tokenizer = tokenizer or config_tokenizer
    min_length = 1 if min_length is None else min_length
    if min_length < 1:
        raise ValueError(f"--min-length must be at least 1, got {min_length}.")
    if tokenizer is None:
        return min_length, None, whitespace_token_counts
    return min_length, tokenizer, subword_token_counter(tokenizer, tokenizer_kwargs)


def _nothing_kept(counts: Counts, inputs: List[Path]) -> str:
    names = ", ".join(str(path) for path in inputs)
    if counts.read == 0:
        return f"No documents found in {names}: the inputs are empty or hold no files."
    return f"No document of {names} was kept (see the counts above); {counts.kept} written."


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
