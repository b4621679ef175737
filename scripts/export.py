"""Export a trained DeCLUTR model as a Hugging Face / sentence-transformers model directory.

    python scripts/export.py ARCHIVE OUT_DIR

ARCHIVE is a `model.tar.gz` or serialization directory trained with declutr. OUT_DIR then loads
with `transformers.AutoModel.from_pretrained` (and `AutoTokenizer`), with
`sentence_transformers.SentenceTransformer` (mean pooling included) and with `declutr.Encoder`,
all embedding as `allennlp predict` does. The masked-LM head is left out; a model card
(`README.md`) records the base model, the training data path and the training config. The export
is checked by embedding a few texts from ARCHIVE and from OUT_DIR (`--no-verify` skips it).
"""

import importlib.util
import sys
from pathlib import Path
from typing import Annotated, List, NoReturn

import numpy as np
import typer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("declutr") is None:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(PROJECT_ROOT))

CHECK_TEXTS: List[str] = [
    "A sentence to embed.",
    "Contrastive learning pulls spans of the same document together.",
    "Another, rather different, text: 42 numbers & symbols!",
    " ".join(["A long text, truncated to the encoder's maximum length."] * 100),
]
MIN_COSINE = 0.9999


def export(archive: str, output_dir: Path, device: str = "cpu", verify: bool = True) -> float:
    """Write the export of `archive` to `output_dir`.

    # Parameters

    archive : `str`
        A model archive or serialization directory (anything `declutr.Encoder` loads).
    output_dir : `Path`
        The directory to write (created if missing).
    device : `str`, optional (default=`"cpu"`)
        Where to run the check.
    verify : `bool`, optional (default=`True`)
        Embed `CHECK_TEXTS` with `archive` and with the export, and raise `RuntimeError` if any
        pair has a cosine similarity under `MIN_COSINE`.

    # Returns

    The smallest cosine similarity of the check (`nan` without it).
    """
    from declutr import Encoder

    encoder = Encoder(archive, device=device)
    encoder.save_pretrained(output_dir)
    if not verify:
        return float("nan")
    expected = encoder.encode(CHECK_TEXTS, normalize=True)
    exported = Encoder(str(output_dir), device=device).encode(CHECK_TEXTS, normalize=True)
    cosine = float(np.min(np.sum(expected * exported, axis=1)))
    if cosine < MIN_COSINE:
        raise RuntimeError(
            f"The export in {output_dir} embeds differently from {archive}: cosine similarity "
            f"{cosine:.6f} < {MIN_COSINE}."
        )
    return cosine


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    archive: Annotated[str, typer.Argument(help="model.tar.gz or serialization directory.")],
    output_dir: Annotated[Path, typer.Argument(help="Directory to write.")],
    force: Annotated[bool, typer.Option(help="Write into a non-empty OUT_DIR.")] = False,
    verify: Annotated[bool, typer.Option(help="Compare the export's embeddings.")] = True,
    device: Annotated[str, typer.Option(help="torch device for loading and the check.")] = "cpu",
) -> None:
    """Export ARCHIVE to OUT_DIR."""
    if not Path(archive).exists():
        _fail(f"No archive {archive}: pass a model.tar.gz or a serialization directory.")
    if output_dir.exists() and any(output_dir.iterdir()) and not force:
        _fail(f"{output_dir} is not empty; pass --force to write into it.")
    try:
        cosine = export(archive, output_dir, device, verify)
    except (OSError, ValueError, RuntimeError) as error:
        _fail(str(error))
    typer.echo(f"Exported {archive} to {output_dir}.")
    if verify:
        typer.echo(f"Checked on {len(CHECK_TEXTS)} texts: smallest cosine similarity {cosine:.6f}.")


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
