"""The `declutr` command: every step of the pipeline after (and around) `allennlp train`.

    declutr prepare-corpus INPUT... --output FILE [--min-length N | --config CONFIG]
    declutr embed MODEL INPUT --output FILE   (under torchrun: one shard per rank, then a merge)
    declutr merge OUTPUT                      (the parts of `embed --no-merge`)
    declutr export ARCHIVE --output DIR       (Hugging Face / sentence-transformers directory)
    declutr evaluate MODEL --data-dir DIR --tasks STSBenchmark,MR
    declutr demo [--output demo_output]       (`make demo`)

The same idea has the same option everywhere: `--output`/`-o` for what a command writes,
`--force` to replace it, `--device` (a GPU if there is one, else the CPU), `--progress`.
This module and `declutr.commands` import only the standard library, typer and light modules, so
that `declutr --help` is instant: each command imports torch, allennlp and the rest when it runs.
The work is done by `declutr.data.corpus`, `declutr.inference` (encoder, sharding, export),
`declutr.evaluation` and `declutr.demo`.
"""

import importlib.metadata
from typing import Annotated

import typer

from declutr.commands import corpus, demo, embedding, evaluation, export

HELP = (
    "DeCLUTR from the command line: prepare a corpus, embed, export, evaluate, run the demo.\n\n"
    "MODEL is anything declutr.Encoder loads: an AllenNLP archive (model.tar.gz) or "
    "serialization directory, a directory written by `declutr export`, or a Hugging Face model. "
    "Training itself is `allennlp train CONFIG -s DIR --include-package declutr`."
)
# rich_markup_mode=None: help is printed as written ("declutr[openvino]" keeps its brackets).
app = typer.Typer(add_completion=False, help=HELP, no_args_is_help=True, rich_markup_mode=None)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"declutr {importlib.metadata.version('declutr')}")
        raise typer.Exit()


@app.callback()
def declutr_command(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """DeCLUTR from the command line."""


app.command("prepare-corpus")(corpus.prepare_corpus)
app.command()(embedding.embed)
app.command()(embedding.merge)
app.command()(export.export)
app.command()(evaluation.evaluate)
app.command()(demo.demo)


def main() -> None:
    """The console entry point (`declutr`, `python -m declutr`)."""
    app()


if __name__ == "__main__":
    main()
