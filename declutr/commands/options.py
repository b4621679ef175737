"""The options the `declutr` subcommands share, each defined once, and their error exit: `--output`
/`-o` for what a command writes, `--force` to replace it, `--device`, `--progress`, and the listed
choices of the runtime options."""

import enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

from declutr.inference.options import BACKENDS, LONG_TEXTS, ON_ERROR, PRECISIONS


def _choices(name: str, values: tuple) -> type:
    """A str Enum of `values`, so that typer lists and checks the choices."""
    return enum.Enum(name, {value: value for value in values}, type=str)


Precision = _choices("Precision", PRECISIONS)
Backend = _choices("Backend", BACKENDS)
LongTexts = _choices("LongTexts", LONG_TEXTS)
OnError = _choices("OnError", ON_ERROR)
Runtime = _choices("Runtime", tuple(name for name in BACKENDS if name not in ("auto", "torch")))

# The options several commands share, defined once.
OutputFile = Annotated[Path, typer.Option("--output", "-o", help="The file to write.")]
Force = Annotated[bool, typer.Option("--force", help="Replace the output if it exists.")]
Progress = Annotated[bool, typer.Option(help="Show progress bars.")]
Device = Annotated[
    Optional[str],
    typer.Option(help="cpu, cuda or cuda:N; default: a GPU if there is one, else the CPU."),
]
BatchSize = Annotated[int, typer.Option(help="Texts per forward pass.")]
MaxLength = Annotated[
    Optional[int],
    typer.Option(
        help="Subword tokens kept per text, special tokens excluded; default: the model's."
    ),
]
PrecisionOption = Annotated[
    Precision,
    typer.Option(
        help="Arithmetic; auto: the fastest that keeps float32's vectors (bfloat16 needs a GPU "
        "or a CPU with bf16 instructions, float16 a GPU)."
    ),
]
BackendOption = Annotated[
    Backend,
    typer.Option(
        help="auto: the fastest installed that keeps float32's vectors; openvino / onnx run on "
        'the CPU (install "declutr[openvino]" / "declutr[onnx]").'
    ),
]
LongTextsOption = Annotated[
    LongTexts, typer.Option(help="Longer texts: truncate, or average the windows (chunk_mean).")
]
ChunkOverlap = Annotated[int, typer.Option(help="chunk_mean: tokens shared by adjacent windows.")]


# How long the ranks that finish first wait for the others before rank 0 merges.
def fail(message: str) -> NoReturn:
    """End the command with exit code 1 and `Error: message` on stderr."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


def load_encoder(model: str, *options: Any) -> Any:
    """`declutr.Encoder(model, *options)`, or the command fails with the reason it cannot."""
    from declutr import Encoder

    try:
        return Encoder(model, *options)
    except (OSError, ValueError, ImportError) as error:
        fail(f"Cannot load {model}: {error}")
