"""`declutr embed` and `declutr merge`: a text file embedded into `.npy` or `.jsonl`, by one
process or by the ranks of torchrun (`declutr.inference.sharding`)."""

import datetime
import os
from pathlib import Path
from typing import Annotated

import typer

from declutr.commands.options import (
    Backend,
    BackendOption,
    BatchSize,
    ChunkOverlap,
    Device,
    LongTexts,
    LongTextsOption,
    MaxLength,
    OnError,
    Precision,
    PrecisionOption,
    Progress,
    fail,
    load_encoder,
)

MERGE_WAIT = datetime.timedelta(days=7)


def embed(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Archive, export or HF model.")],
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="One text per line (.txt, .jsonl, .gz).")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The .npy or .jsonl file to write.")
    ],
    batch_size: BatchSize = 32,
    max_length: MaxLength = None,
    device: Device = None,
    normalize: Annotated[bool, typer.Option(help="Unit-length vectors.")] = False,
    on_error: Annotated[
        OnError, typer.Option(help="A bad line: stop (raise), or a NaN row / error line (skip).")
    ] = OnError("raise"),
    merge: Annotated[bool, typer.Option(help="Under torchrun: rank 0 merges the parts.")] = True,
    force: Annotated[
        bool, typer.Option("--force", help="Under torchrun: redo parts already complete.")
    ] = False,
    progress: Progress = True,
    precision: PrecisionOption = Precision("auto"),
    backend: BackendOption = Backend("auto"),
    long_texts: LongTextsOption = LongTexts("truncate"),
    chunk_overlap: ChunkOverlap = 0,
) -> None:
    """Embed a text file into .npy or .jsonl.

    Writes OUTPUT: `.npy` (a float32 array, row i = line i of INPUT) or `.jsonl` (one
    {"embeddings": [...]} per line). Under torchrun (or any launcher that sets RANK and
    WORLD_SIZE), each rank embeds a contiguous shard of the lines into
    `OUTPUT.part-RRRRR-of-WWWWW` with a manifest; rank 0 then merges the parts into OUTPUT, which
    equals a single-process run. With --no-merge, copy the parts into one folder and run
    `declutr merge` there. Rerunning the same command skips the parts already complete.
    """
    import logging

    import torch

    from declutr.inference.sharding import embed_shard

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rank = int(os.environ.get("RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if device is None and torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count()}"
    if output.suffix.lower() not in (".npy", ".jsonl"):
        fail(f"{output}: the output must end in .npy or .jsonl.")
    if not input_path.is_file():
        fail(f"No input file {input_path}.")
    output.parent.mkdir(parents=True, exist_ok=True)
    options = (precision.value, backend.value, long_texts.value, chunk_overlap)
    encoder = load_encoder(model, device, batch_size, max_length, *options)
    written = dict(normalize=normalize, on_error=on_error.value, show_progress=progress or None)
    if world_size == 1:
        count = encoder.encode_file(input_path, output, **written)
        record = write_record(encoder, input_path, output, count, normalize)
        typer.echo(
            f"Embedded {count} lines into {output} with {encoder.backend} {encoder.precision} "
            f"({encoder.runtime_choice.chosen_by}; record in {record})."
        )
        return
    manifest = embed_shard(
        encoder, input_path, output, rank, world_size, overwrite=force, **written
    )
    typer.echo(f"Rank {rank} of {world_size}: wrote {manifest}.")
    if merge:
        _merge_after_every_rank(output, rank, world_size)


def write_record(encoder, input_path: Path, output: Path, count: int, normalize: bool) -> Path:
    """`OUTPUT.json` beside the embeddings: what made them (model, input, settings, and how the
    runtime was chosen, with the CPU's instruction sets)."""
    import json

    from declutr import __version__

    record = {
        "format": "declutr-embeddings/1",
        "declutr": __version__,
        "model": encoder.source,
        "input": str(input_path.resolve()),
        "output": output.name,
        "lines": count,
        "dim": encoder.dim,
        "max_length": encoder.max_length,
        "long_texts": f"{encoder.long_texts}/{encoder.chunk_overlap}",
        "normalize": normalize,
        "skipped": encoder.skipped,
        "truncated": encoder.truncated,
        "runtime": encoder.runtime_choice.as_dict(),
    }
    path = output.with_name(output.name + ".json")
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def _merge_after_every_rank(output_path: Path, rank: int, world_size: int) -> None:
    """Wait for every rank, merge on rank 0, and end every rank once the output is complete."""
    import torch.distributed as dist

    from declutr.inference.sharding import ShardError, merge_shards

    # Only a barrier crosses ranks: the embeddings never leave their rank's file.
    dist.init_process_group("gloo", timeout=MERGE_WAIT)
    problem = None
    try:
        dist.barrier()
        if rank == 0:
            try:
                count = merge_shards(output_path, remove_parts=True)
                typer.echo(f"Merged {world_size} parts into {output_path} ({count} rows).")
            except ShardError as error:
                problem = (
                    f"{error} (with ranks on several machines, pass --no-merge and merge the "
                    "parts, copied into one folder, there)."
                )
        dist.barrier()  # the other ranks end once the output is complete
    finally:
        dist.destroy_process_group()
    if problem is not None:
        fail(problem)


def merge(
    output: Annotated[
        Path, typer.Argument(metavar="OUTPUT", help="The .npy or .jsonl the parts make up.")
    ],
    keep_parts: Annotated[bool, typer.Option(help="Keep the parts after merging.")] = False,
) -> None:
    """Join the parts of a sharded `embed --no-merge` run.

    OUTPUT is the file the parts make up; its parts (`OUTPUT.part-*`) and their manifests are
    beside it.
    """
    from declutr.inference.sharding import ShardError, merge_shards

    try:
        count = merge_shards(output, remove_parts=not keep_parts)
    except ShardError as error:
        fail(str(error))
    typer.echo(f"Merged into {output} ({count} rows).")
