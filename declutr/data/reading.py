"""Helpers of the "declutr" reader: shuffling in a bounded buffer, the counts it logs after each
pass, the error it raises when no document of a file is long enough to sample from, and the
cap that `max_instances` puts on each worker's count."""

from collections import Counter
from typing import Iterator, List, Optional, TypeVar

import numpy as np
from allennlp.data.dataset_readers.dataset_reader import DistributedInfo

Item = TypeVar("Item")


def buffered_shuffle(
    items: Iterator[Item], buffer_size: int, rng: np.random.Generator
) -> Iterator[Item]:
    """`items` shuffled within a buffer of `buffer_size` items (memory bounded by the buffer)."""
    buffer: List[Item] = []
    for item in items:
        if len(buffer) < buffer_size:
            buffer.append(item)
            continue
        index = int(rng.integers(len(buffer)))
        yield buffer[index]
        buffer[index] = item
    rng.shuffle(buffer)  # type: ignore[arg-type]
    yield from buffer


def counts_message(
    file_path: str,
    counts: Counter,
    max_length: int,
    min_document_tokens: Optional[int] = None,
    shrink: bool = False,
) -> str:
    """The line the reader logs after a pass: with sampling off (`min_document_tokens=None`),
    its lines, instances, truncated texts and empty lines; with sampling, its lines, instances
    (and, with `shrink`, how many had their spans shrunk), empty lines and too-short documents."""
    read = f"Read {file_path}: {counts['lines']} lines, {counts['instances']} instances"
    if min_document_tokens is None:
        return (
            f"{read} ({counts['truncated']} truncated to {max_length} tokens); skipped "
            f"{counts['empty']} empty lines."
        )
    shrunk = f" ({counts['shrunk']} with spans shrunk to fit)" if shrink else ""
    return (
        f"{read}{shrunk}; skipped {counts['empty']} empty lines and {counts['too_short']} "
        f"documents shorter than {min_document_tokens} tokens."
    )


def nothing_long_enough(
    file_path: str, longest: int, num_anchors: int, span_len: int, shrink: bool
) -> ValueError:
    """The error of a file without any document of `2 * num_anchors * span_len` tokens, where
    `span_len` is `min_span_len` with `shrink`, else `max_span_len`."""
    span = "min_span_len" if shrink else "max_span_len"
    return ValueError(
        f"No document in {file_path} is long enough to sample from: each needs at least "
        f"{2 * num_anchors * span_len} subword tokens (2 * num_anchors * {span} = "
        f"2 * {num_anchors} * {span_len}), and the longest has {longest}. Use longer documents "
        f"(one per line) or lower num_anchors or {span}"
        + ("." if shrink else ', or set short_documents to "shrink".')
    )


def capped_counts(
    counts: List[int], max_instances: Optional[int], distributed: Optional[DistributedInfo]
) -> List[int]:
    """The instances of each data-loader worker of a rank (`counts`), capped as
    `DatasetReader.read` caps them: each rank at its share of `max_instances`, each worker at
    its share of the rank's."""
    if max_instances is None:
        return counts
    rank_share = max_instances
    if distributed is not None:
        rank_share = _share(max_instances, distributed.world_size, distributed.global_rank)
    return [min(count, _share(rank_share, len(counts), i)) for i, count in enumerate(counts)]


def _share(total: int, parts: int, index: int) -> int:
    """Part `index` of `total` split into `parts` as evenly as possible, the first ones larger."""
    share, remainder = divmod(total, parts)
    return share + int(index < remainder)
