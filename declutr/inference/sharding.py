"""Embed a corpus too large for one process: one shard of lines per process, then one merge.

Each of `world_size` processes (the ranks of a `torchrun` launch, on one machine or several, or
the tasks of any job array) embeds a contiguous shard of the input's lines with
`embed_shard` and writes it beside the final output, with a manifest:

    OUT.part-00000-of-00002.npy   and   OUT.part-00000-of-00002.npy.json
    OUT.part-00001-of-00002.npy   and   OUT.part-00001-of-00002.npy.json

`merge_shards(OUT)` then checks that the parts form the whole input (every rank present, the
same input, model and settings, line ranges that tile the input, each part's checksum intact)
and joins them into OUT, whose row `i` embeds line `i` exactly as a single process's
`Encoder.encode_file` would. A rank that died can be rerun alone: a rank whose manifest already
matches its input is skipped, and nothing is merged until every part is there.

```python
from declutr import Encoder
from declutr.inference.sharding import embed_shard, merge_shards

encoder = Encoder("model.tar.gz")
embed_shard(encoder, "corpus.txt", "vectors.npy", rank=0, world_size=2)  # in process 0
embed_shard(encoder, "corpus.txt", "vectors.npy", rank=1, world_size=2)  # in process 1
merge_shards("vectors.npy")  # once all parts exist
```

`declutr embed` does all of this from the command line under `torchrun`.
"""

import hashlib
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from declutr.files import atomic_path
from declutr.inference.encoder import Encoder
from declutr.inference.outputs import count_lines, write_npy

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]
MANIFEST_FORMAT = "declutr-embedding-shard/1"
# Manifest fields that every part of one output must share.
SHARED_FIELDS = ("input", "input_bytes", "input_lines", "world_size", "model", "dim")
SHARED_FIELDS += ("max_length", "normalize", "on_error", "precision", "backend", "long_texts")
_PART = re.compile(r"\.part-(\d{5})-of-(\d{5})$")
_BLOCK_ROWS = 65536


class ShardError(RuntimeError):
    """The parts of a sharded embedding are missing, inconsistent or corrupt; the message says
    which and how to fix it."""


def shard_bounds(num_lines: int, rank: int, world_size: int) -> Tuple[int, int]:
    """`(start, end)`: the contiguous lines of rank `rank`; shards differ by at most one line
    and tile `range(num_lines)` in rank order."""
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size), got rank={rank}, world={world_size}.")
    base, extra = divmod(num_lines, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def part_path(output_path: PathLike, rank: int, world_size: int) -> Path:
    """Where rank `rank` writes its part of `output_path` (its manifest adds `.json`)."""
    output_path = Path(output_path)
    return output_path.with_name(
        f"{output_path.stem}.part-{rank:05d}-of-{world_size:05d}{output_path.suffix}"
    )


def embed_shard(
    encoder: Encoder,
    input_path: PathLike,
    output_path: PathLike,
    rank: int,
    world_size: int,
    batch_size: Optional[int] = None,
    normalize: bool = False,
    show_progress: Optional[bool] = None,
    on_error: str = "raise",
    overwrite: bool = False,
) -> Path:
    """Embed rank `rank`'s shard of `input_path` into its part of `output_path`.

    # Parameters

    encoder : `Encoder`
        The same model and `max_length` on every rank (`merge_shards` checks it).
    input_path : `str | os.PathLike`
        As in `Encoder.encode_file`: one text per line, plain or JSON lines, optionally gzipped.
    output_path : `str | os.PathLike`
        The final `.npy` or `.jsonl` file that `merge_shards` writes; the part and its manifest
        go beside it (see `part_path`).
    rank, world_size : `int`
        This process's shard (0-based) and the number of shards.
    batch_size, normalize, show_progress, on_error
        As in `Encoder.encode_file`.
    overwrite : `bool`, optional (default=`False`)
        Re-embed a shard whose manifest already matches this input, model and settings; by
        default it is kept (so that rerunning a job redoes only the ranks that failed).

    # Returns

    The path of the part's manifest.
    """
    input_path = Path(input_path)
    if not input_path.is_file():
        raise FileNotFoundError(f"No input file {input_path}.")
    part = part_path(output_path, rank, world_size)
    manifest_path = _manifest_path(part)
    identity = {
        "format": MANIFEST_FORMAT,
        "input": str(input_path.resolve()),
        "input_bytes": input_path.stat().st_size,
        "world_size": world_size,
        "rank": rank,
        "model": encoder.source,
        "dim": encoder.dim,
        "max_length": encoder.max_length,
        "precision": encoder.precision,
        "backend": encoder.backend,
        "long_texts": f"{encoder.long_texts}/{encoder.chunk_overlap}",
        "normalize": normalize,
        "on_error": on_error,
    }
    if not overwrite and _is_complete(part, identity):
        logger.info("Rank %d of %d: %s is already complete; kept.", rank, world_size, part)
        return manifest_path
    num_lines = count_lines(input_path)
    start, end = shard_bounds(num_lines, rank, world_size)
    started = time.perf_counter()
    rows = encoder.encode_file(
        input_path,
        part,
        batch_size=batch_size,
        normalize=normalize,
        show_progress=show_progress,
        on_error=on_error,
        lines=(start, end),
        num_lines=num_lines,
    )
    if rows != end - start:
        raise ShardError(
            f"{input_path} changed while rank {rank} embedded it: expected "
            f"{end - start} lines from line {start}, read {rows}."
        )
    done = {"input_lines": num_lines, "start": start, "end": end, "rows": rows}
    done.update(part=part.name, part_sha256=_sha256(part), skipped=encoder.skipped)
    done["seconds"] = round(time.perf_counter() - started, 3)
    done["runtime"] = encoder.runtime_choice.as_dict()  # how the backend was chosen
    with atomic_path(manifest_path) as temporary:  # it exists only once the part is complete
        temporary.write_text(json.dumps({**identity, **done}, indent=2))
    return manifest_path


def merge_shards(output_path: PathLike, remove_parts: bool = False) -> int:
    """Check the parts of `output_path` and join them into it; returns its number of rows.

    Raises `ShardError` naming the problem (a missing rank, parts of different runs, a part
    whose checksum or size is wrong) before anything is written. `output_path` is written to a
    `.partial` file and renamed when complete; with `remove_parts` the parts and manifests are
    deleted afterwards.
    """
    output_path = Path(output_path)
    manifests = _read_manifests(output_path)
    num_rows = manifests[0]["input_lines"]
    with atomic_path(output_path) as temporary:
        if output_path.suffix.lower() == ".npy":
            blocks = _part_blocks(output_path, manifests)
            write_npy(temporary, blocks, (num_rows, manifests[0]["dim"]))
        else:
            with open(temporary, "wb") as merged_file:
                for manifest in manifests:
                    with open(output_path.with_name(manifest["part"]), "rb") as part_file:
                        shutil.copyfileobj(part_file, merged_file)
    if remove_parts:
        for manifest in manifests:
            output_path.with_name(manifest["part"]).unlink()
            _manifest_path(output_path.with_name(manifest["part"])).unlink()
    logger.info("Merged %d parts into %s (%d rows).", len(manifests), output_path, num_rows)
    return num_rows


def _part_blocks(
    output_path: Path, manifests: List[Dict[str, Any]]
) -> Iterator[Tuple[int, np.ndarray]]:
    """`(first row, rows)` blocks of every `.npy` part, read through a memory map."""
    for manifest in manifests:
        part = np.load(output_path.with_name(manifest["part"]), mmap_mode="r")
        for block in range(0, len(part), _BLOCK_ROWS):
            yield manifest["start"] + block, part[block : block + _BLOCK_ROWS]


def _is_complete(part: Path, identity: Dict[str, Any]) -> bool:
    """Whether `part` and its manifest exist, the manifest matching `identity`."""
    manifest_path = _manifest_path(part)
    if not (manifest_path.is_file() and part.is_file()):
        return False
    existing = json.loads(manifest_path.read_text())
    return all(existing.get(key) == value for key, value in identity.items())


def _manifest_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _read_manifests(output_path: Path) -> List[Dict[str, Any]]:
    """Every part's manifest, in rank order, checked against each other and their parts."""
    pattern = f"{output_path.stem}.part-*-of-*{output_path.suffix}.json"
    found: Dict[int, Dict[int, Dict[str, Any]]] = {}
    for path in sorted(output_path.parent.glob(pattern)):
        match = _PART.search(path.name[: -len(output_path.suffix + ".json")])
        if match is None:
            continue
        manifest = json.loads(path.read_text())
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ShardError(f"{path} is not a {MANIFEST_FORMAT} manifest.")
        found.setdefault(int(match.group(2)), {})[int(match.group(1))] = manifest
    if not found:
        raise ShardError(
            f"No parts of {output_path} found (expected {pattern} beside it); run "
            "`declutr embed` under torchrun first, or embed_shard on every rank."
        )
    if len(found) > 1:
        raise ShardError(
            f"Parts of {output_path} from runs with different numbers of ranks "
            f"({sorted(found)}) are mixed; delete those of the older run."
        )
    ((world_size, by_rank),) = found.items()
    missing = sorted(set(range(world_size)) - set(by_rank))
    if missing:
        raise ShardError(
            f"{output_path}: ranks {missing} of {world_size} have no complete part yet; rerun "
            f"them (the same command with WORLD_SIZE={world_size} and RANK set to each) and "
            "merge again."
        )
    manifests = [by_rank[rank] for rank in range(world_size)]
    for manifest in manifests[1:]:
        different = [key for key in SHARED_FIELDS if manifest.get(key) != manifests[0].get(key)]
        if different:
            raise ShardError(
                f"Rank {manifest['rank']}'s part of {output_path} differs from rank 0's in "
                f"{different}: the parts come from different inputs, models or settings."
            )
    position = 0
    for manifest in manifests:
        part = output_path.with_name(manifest["part"])
        if manifest["start"] != position or manifest["end"] - manifest["start"] != manifest["rows"]:
            raise ShardError(
                f"{part}: lines {manifest['start']}-{manifest['end']} do not follow "
                f"line {position}; the manifests are inconsistent."
            )
        if not part.is_file() or _sha256(part) != manifest["part_sha256"]:
            raise ShardError(
                f"{part} is missing or does not match its manifest's checksum (changed or "
                f"truncated); rerun rank {manifest['rank']} with overwrite."
            )
        position = manifest["end"]
    if position != manifests[0]["input_lines"]:
        raise ShardError(
            f"The parts of {output_path} cover {position} of {manifests[0]['input_lines']} lines."
        )
    return manifests
