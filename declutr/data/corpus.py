"""Prepare a DeCLUTR training corpus: one normalised document per line, each long enough to sample
spans from (`prepare_corpus`; from the command line, `declutr prepare-corpus`).

    declutr prepare-corpus INPUT... OUTPUT [--min-length N | --config CONFIG]

Inputs may be:

- plain text files (`*.txt` or anything else, optionally compressed, recognised by the name:
  `.gz`, `.xz`, `.bz2`): the whole file is one document, or each line is one with
  `--text-unit line`;
- folders, read recursively, their files taken as above (archives and JSON lines included);
- JSON lines (`*.jsonl`, optionally `.gz`): one document per line, in the `"text"` field;
- tar archives (`.tar`, `.tar.gz`, `.tgz`, `.tar.xz`, `.txz`, `.tar.bz2`, OpenWebText's `.xz`) of
  such files, archives nested in archives included (OpenWebText's `openwebtext.tar.xz` holds
  `.xz` archives of `.txt` documents).

Whitespace runs (newlines included) become one space, so each document fits on one line. Documents
with fewer than `--min-length` tokens are dropped, counted with `--tokenizer` (the model the reader
will use, so the count is the reader's; the default splits on whitespace). `--config` computes the
minimum the reader needs, `2 * num_anchors * max_span_len`, and takes the tokenizer from the same
config (`2 * num_anchors * min_span_len` if the reader sets `short_documents` to `"shrink"`).
Everything streams: memory does not grow with the size of the input. Unreadable documents
(bad UTF-8, bad JSON) and archives (truncated, corrupt) are skipped, reported and counted, unless
`--strict` makes them fatal.
"""

import gzip
import json
import sys
from pathlib import Path
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
)

from tqdm import tqdm

from declutr.data.sources import Counts, DocumentReader, TextUnit
from declutr.data.span_sampling import min_document_length
from declutr.data.texts import token_ids
from declutr.files import atomic_path

TokenCounter = Callable[[List[str]], List[int]]

TOKENIZE_BATCH = 64


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
        return [len(ids) for ids in token_ids(tokenizer, texts)]

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
    name = output.name.lower()
    json_lines = name.removesuffix(".gz").endswith(".jsonl")
    opener = gzip.open if name.endswith(".gz") else open
    written = 0
    with atomic_path(output) as partial:
        with opener(partial, "wt", encoding="utf-8") as handle:  # type: ignore[operator]
            for text in documents:
                handle.write((json.dumps({"text": text}) if json_lines else text) + "\n")
                written += 1
    return written


def settings_from_config(
    config: Path, overrides: str = ""
) -> Tuple[int, Optional[str], Dict[str, Any]]:
    """`(min_length, tokenizer name, tokenizer kwargs)` of a training config's reader: the
    reader keeps documents of `2 * num_anchors * max_span_len` subword tokens or more
    (`2 * num_anchors * min_span_len` with `short_documents="shrink"`)."""
    from allennlp.common import Params

    params = Params.from_file(str(config), overrides).as_dict(quiet=True)
    reader = params.get("dataset_reader", {})
    if reader.get("num_anchors") is None or reader.get("max_span_len") is None:
        raise ValueError(
            f"The dataset_reader of {config} sets no num_anchors and max_span_len, so it samples "
            "no spans and needs no minimum length; pass --min-length instead."
        )
    tokenizer = reader.get("tokenizer", {})
    return (
        min_document_length(
            reader["num_anchors"],
            reader["min_span_len" if reader.get("short_documents") == "shrink" else "max_span_len"],
        ),
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


def check_paths(inputs: List[Path], output: Path, force: bool) -> None:
    for path in inputs:
        if not path.exists():
            raise FileNotFoundError(f"Input {path} does not exist.")
        if path.is_dir() and output.resolve().is_relative_to(path.resolve()):
            raise ValueError(f"The output {output} is inside the input folder {path}.")
        if path.is_file() and path.resolve() == output.resolve():
            raise ValueError(f"The output {output} is also an input.")
    if output.exists() and not force:
        raise FileExistsError(f"{output} exists; pass --force to replace it.")


def length_settings(
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


def nothing_kept_message(counts: Counts, inputs: List[Path]) -> str:
    names = ", ".join(str(path) for path in inputs)
    if counts.read == 0:
        return f"No documents found in {names}: the inputs are empty or hold no files."
    return f"No document of {names} was kept (see the counts above); {counts.kept} written."
