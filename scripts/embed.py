"""Embed a corpus, in one process or in many (torchrun, one machine or several).

    python scripts/embed.py embed MODEL INPUT OUTPUT            # one process
    torchrun --nproc-per-node 4 scripts/embed.py embed MODEL INPUT OUTPUT
    python scripts/embed.py merge OUTPUT                        # only after --no-merge

MODEL is anything `declutr.Encoder` loads (archive, serialization directory, exported or Hugging
Face model). INPUT has one text per line (plain text or JSON lines with a "text" field, optionally
gzipped); OUTPUT ends in `.npy` (a float32 array, row i = line i) or `.jsonl` (one
{"embeddings": [...]} per line).

Under torchrun (or any launcher that sets RANK and WORLD_SIZE, e.g. a job array), each rank embeds
a contiguous shard of the lines and writes `OUTPUT.part-RRRRR-of-WWWWW` with a manifest
(`declutr.sharding`). Ranks need no network between them for that; at the end they wait for each
other (gloo, through torchrun's rendezvous) and rank 0 merges the parts into OUTPUT, which equals a
single-process run. With `--no-merge` (ranks on machines without a shared filesystem, or a job
array), copy the parts into one folder and run `merge` there. Rerunning the same command skips the
ranks whose parts are already complete.
"""

import datetime
import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("declutr") is None:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(PROJECT_ROOT))

app = typer.Typer(add_completion=False, help=__doc__)
# How long the ranks that finish first wait for the others before rank 0 merges.
MERGE_WAIT = datetime.timedelta(days=7)


def fail(message: str) -> NoReturn:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


@app.command()
def embed(
    model: Annotated[str, typer.Argument(help="Archive, exported or Hugging Face model.")],
    input_path: Annotated[Path, typer.Argument(help="One text per line (.txt/.jsonl[.gz]).")],
    output_path: Annotated[Path, typer.Argument(help="The .npy or .jsonl to write.")],
    batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 32,
    max_length: Annotated[
        Optional[int], typer.Option(help="Subword tokens kept per text (default: the model's).")
    ] = None,
    device: Annotated[
        Optional[str],
        typer.Option(help="cpu, cuda, cuda:N (default: GPU LOCAL_RANK if any, else the CPU)."),
    ] = None,
    normalize: Annotated[bool, typer.Option(help="Unit-length vectors.")] = False,
    on_error: Annotated[
        str, typer.Option(help="raise: stop at a bad line; skip: NaN row / error line.")
    ] = "raise",
    merge: Annotated[bool, typer.Option(help="Rank 0 merges the parts at the end.")] = True,
    overwrite: Annotated[bool, typer.Option(help="Redo parts that are already complete.")] = False,
) -> None:
    """Embed INPUT into OUTPUT (this rank's shard of it under torchrun)."""
    import torch

    from declutr import Encoder
    from declutr.sharding import ShardError, embed_shard, merge_shards

    rank = int(os.environ.get("RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if device is None and torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count()}"
    if output_path.suffix.lower() not in (".npy", ".jsonl"):
        fail(f"{output_path}: the output must end in .npy or .jsonl.")
    if not input_path.is_file():
        fail(f"No input file {input_path}.")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    encoder = Encoder(model, device=device, batch_size=batch_size, max_length=max_length)
    if world_size == 1:
        count = encoder.encode_file(input_path, output_path, normalize=normalize, on_error=on_error)
        typer.echo(f"Embedded {count} lines into {output_path}.")
        return
    manifest = embed_shard(
        encoder,
        input_path,
        output_path,
        rank,
        world_size,
        normalize=normalize,
        on_error=on_error,
        overwrite=overwrite,
    )
    typer.echo(f"Rank {rank} of {world_size}: wrote {manifest}.")
    if not merge:
        return
    import torch.distributed as dist

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


@app.command("merge")
def merge_command(
    output_path: Annotated[Path, typer.Argument(help="The .npy or .jsonl the parts make up.")],
    keep_parts: Annotated[bool, typer.Option(help="Keep the parts after merging.")] = False,
) -> None:
    """Join the parts of OUTPUT written by `embed` under torchrun with --no-merge."""
    from declutr.sharding import ShardError, merge_shards

    try:
        count = merge_shards(output_path, remove_parts=not keep_parts)
    except ShardError as error:
        fail(str(error))
    typer.echo(f"Merged into {output_path} ({count} rows).")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app()
