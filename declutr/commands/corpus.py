"""`declutr prepare-corpus`: documents in, a training corpus out (`declutr.data.corpus`)."""

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from declutr.commands.options import (
    Force,
    OutputFile,
    Progress,
    fail,
)
from declutr.data.sources import TextUnit


def prepare_corpus(
    inputs: Annotated[
        List[Path],
        typer.Argument(metavar="INPUT", help="Files, folders or archives of documents."),
    ],
    output: OutputFile,
    min_length: Annotated[
        Optional[int],
        typer.Option(help="Fewest tokens a kept document has; default 1, or from --config."),
    ] = None,
    config: Annotated[
        Optional[Path],
        typer.Option(help="Training config: min length 2 * num_anchors * max_span_len, tokenizer."),
    ] = None,
    overrides: Annotated[str, typer.Option(help="JSON overrides for --config.")] = "",
    tokenizer: Annotated[
        Optional[str],
        typer.Option(help="Hugging Face tokenizer counting tokens; default: whitespace."),
    ] = None,
    lowercase: Annotated[bool, typer.Option(help="Lowercase every document.")] = False,
    text_unit: Annotated[
        TextUnit, typer.Option(help="A plain text file is one document, or one per line.")
    ] = TextUnit.file,
    strict: Annotated[
        bool, typer.Option(help="Fail on unreadable documents and archives.")
    ] = False,
    force: Force = False,
    progress: Progress = True,
) -> None:
    """Write documents to a training corpus, one per line.

    Reads INPUT... (text, JSON lines, compressed files, folders and archives; see
    `declutr.data.corpus`) and writes OUTPUT, one normalised document per line, keeping the
    documents long enough to sample spans from.
    """
    from declutr.data import corpus

    try:
        corpus.check_paths(inputs, output, force)
        min_length, tokenizer, count_tokens = corpus.length_settings(
            min_length, config, overrides, tokenizer
        )
        counts = corpus.prepare_corpus(
            inputs, output, min_length, count_tokens, lowercase, text_unit, strict, progress
        )
    except (OSError, ValueError) as error:
        fail(str(error))
    typer.echo(counts.summary(min_length, tokenizer or "whitespace"))
    if counts.kept == 0:
        output.unlink(missing_ok=True)
        fail(corpus.nothing_kept_message(counts, inputs))
    typer.echo(f"Wrote {counts.kept} documents to {output}.")
