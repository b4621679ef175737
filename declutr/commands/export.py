"""`declutr export`: a trained model as a Hugging Face / sentence-transformers directory."""

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from declutr.commands.options import (
    Device,
    Runtime,
    fail,
)


def export(
    archive: Annotated[
        str, typer.Argument(metavar="ARCHIVE", help="model.tar.gz or serialization directory.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The directory to write.")],
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty OUTPUT.")] = False,
    verify: Annotated[bool, typer.Option(help="Compare the export's embeddings.")] = True,
    device: Device = None,
    backend: Annotated[
        Optional[List[Runtime]],
        typer.Option(help="Also write this CPU runtime's model (repeatable)."),
    ] = None,
    int8_calibration: Annotated[
        Optional[Path],
        typer.Option(
            metavar="TEXTS",
            help="Also write an int8 OpenVINO model, calibrated on these texts of yours (one a "
            'line, .txt/.jsonl/.gz; 300 are sampled); needs "declutr[int8]".',
        ),
    ] = None,
) -> None:
    """Export a model for Hugging Face and sentence-transformers.

    Writes OUTPUT, a directory that `transformers.AutoModel`, `sentence_transformers.
    SentenceTransformer` (mean pooling included) and `declutr.Encoder` load, all embedding as
    `allennlp predict` does; the masked-LM head is left out and a model card records the base
    model, the training data and the config. The export is checked by embedding a few texts with
    ARCHIVE and with OUTPUT (--no-verify skips it). --backend openvino writes
    `openvino/openvino_model.xml`, --backend onnx `onnx/model.onnx`, which sentence-transformers
    loads with backend="openvino" / "onnx"; the check then covers them too (on the CPU).
    """
    from declutr import Encoder
    from declutr.inference.export import CHECK_TEXTS, verify_export

    backends = [choice.value for choice in backend or ()]
    if not Path(archive).exists():
        fail(f"No archive {archive}: pass a model.tar.gz or a serialization directory.")
    if output.exists() and any(output.iterdir()) and not force:
        fail(f"{output} is not empty; pass --force to write into it.")
    if device is None and (backends or int8_calibration):
        device = "cpu"  # the runtimes' check runs on the CPU
    try:
        encoder = Encoder(archive, device=device, precision="float32", backend="torch")
        encoder.save_pretrained(output, backends)
        cosine = verify_export(encoder, output, device, backends) if verify else -1.0
    except (OSError, ValueError, RuntimeError) as error:
        fail(str(error))
    typer.echo(f"Exported {archive} to {output}.")
    if verify:
        typer.echo(f"Checked on {len(CHECK_TEXTS)} texts: smallest cosine similarity {cosine:.6f}.")
    if int8_calibration is not None:
        _export_int8(encoder, output, int8_calibration)


def _export_int8(encoder, output: Path, calibration: Path) -> None:
    """The int8 OpenVINO model beside the export, and how far its vectors are from float32's."""
    from declutr import Encoder
    from declutr.data.documents import iter_lines
    from declutr.inference.choice import CHECK_TEXTS, min_cosine
    from declutr.inference.quantize import save_int8

    if not calibration.is_file():
        fail(f"No calibration file {calibration}: pass your texts, one a line.")
    try:
        path = save_int8(encoder, output, (text for _, text in iter_lines(calibration)))
        int8 = Encoder(str(output), device="cpu", backend="openvino", precision="int8")
    except (OSError, ValueError, ImportError) as error:
        fail(str(error))
    texts = list(CHECK_TEXTS)
    cosine = min_cosine(int8.encode(texts), encoder.encode(texts))
    typer.echo(
        f"Wrote the int8 model {path.relative_to(output)}: smallest cosine to float32 "
        f"{cosine:.4f} on {len(texts)} texts. int8 moves vectors more than the float32 runtimes "
        "do: check your task's scores with it (docs/performance.md#int8)."
    )
