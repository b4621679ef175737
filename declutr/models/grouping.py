"""How the "declutr" model runs its encoder over a batch of spans: the whole batch at once, in
groups of similar length, or in gradient-cache chunks.

Each strategy is called as `strategy(encode, mask, *inputs)`: `encode(*inputs)` returns
`(per_row, extra)`, a tensor with one row per input row and anything else (such as a loss sum);
the strategy returns the per-row outputs in input order and the list of extras, one per call of
`encode`. `mask`, `(num_rows, seq_len)`, gives each row's length. Inputs are nests of tuples and
dicts of tensors `(num_rows, ...)` (and `None`).
"""

from typing import Any, Callable, List, Optional, Tuple

import torch
from torch.utils.checkpoint import checkpoint

Encode = Callable[..., Tuple[torch.Tensor, Any]]
Result = Tuple[torch.Tensor, List[Any]]


def whole_batch(encode: Encode, mask: torch.Tensor, *inputs: Any) -> Result:
    """One call of `encode` on every row."""
    per_row, extra = encode(*inputs)
    return per_row, [extra]


class LengthGroups:
    """Rows sorted by length, split into `num_groups` groups, each cut to its longest row: padding
    costs no compute beyond a group's longest text. One group is the whole batch.

    # Parameters

    num_groups : `int`
        How many groups (at most one per row).
    """

    def __init__(self, num_groups: int) -> None:
        self.num_groups = num_groups

    def __call__(self, encode: Encode, mask: torch.Tensor, *inputs: Any) -> Result:
        group_size = -(-mask.size(0) // self.num_groups)
        if group_size >= mask.size(0):
            return whole_batch(encode, mask, *inputs)
        return _sorted_groups(encode, mask, inputs, group_size, _call)


class GradientCacheChunks:
    """Rows sorted by length in chunks of `chunk_size`, each cut to its longest row and encoded
    under non-reentrant activation checkpointing: activation memory is that of one chunk, and
    `loss.backward()` re-encodes each chunk with its graph (gradient caching).

    # Parameters

    chunk_size : `int`
        Rows per chunk.
    """

    def __init__(self, chunk_size: int) -> None:
        self.chunk_size = chunk_size

    def __call__(self, encode: Encode, mask: torch.Tensor, *inputs: Any) -> Result:
        return _sorted_groups(encode, mask, inputs, self.chunk_size, _checkpointed)


def _call(encode: Encode, *group: Any) -> Tuple[torch.Tensor, Any]:
    return encode(*group)


def _checkpointed(encode: Encode, *group: Any) -> Tuple[torch.Tensor, Any]:
    return checkpoint(encode, *group, use_reentrant=False)


def _sorted_groups(
    encode: Encode,
    mask: torch.Tensor,
    inputs: Tuple[Any, ...],
    group_size: int,
    run: Callable[..., Tuple[torch.Tensor, Any]],
) -> Result:
    """`run(encode, *group)` on consecutive groups of `group_size` rows, sorted by length and
    trimmed when every input is `(rows, seq_len, ...)`, else in input order and untrimmed."""
    num_rows, seq_len = mask.shape
    trimmable = _trimmable(inputs, seq_len)
    lengths = mask.sum(dim=1)
    order = torch.argsort(lengths, stable=True) if trimmable else None
    outputs, extras = [], []
    for start in range(0, num_rows, group_size):
        if order is None:
            group = _select(inputs, slice(start, start + group_size), None)
        else:
            rows = order[start : start + group_size]
            group = _select(inputs, rows, int(lengths[rows].max()))
        per_row, extra = run(encode, *group)
        outputs.append(per_row)
        extras.append(extra)
    per_row = torch.cat(outputs)
    if order is not None:
        per_row = per_row[torch.argsort(order)]
    return per_row, extras


def _trimmable(inputs: Any, seq_len: int) -> bool:
    """Whether every tensor in a nest of tuples and dicts is `(rows, seq_len, ...)`, so that
    rows may be cut to a shorter length."""
    if isinstance(inputs, torch.Tensor):
        return inputs.dim() >= 2 and inputs.size(1) == seq_len
    if isinstance(inputs, dict):
        return all(_trimmable(value, seq_len) for value in inputs.values())
    if isinstance(inputs, tuple):
        return all(_trimmable(value, seq_len) for value in inputs)
    return True


def _select(inputs: Any, rows: Any, width: Optional[int]) -> Any:
    """`rows` (a slice or an index tensor) of every tensor in a nest of tuples and dicts, cut
    to the first `width` positions unless `width` is `None` (`None` values stay `None`)."""
    if isinstance(inputs, torch.Tensor):
        selected = inputs[rows]
        return selected if width is None else selected[:, :width]
    if isinstance(inputs, dict):
        return {key: _select(value, rows, width) for key, value in inputs.items()}
    if isinstance(inputs, tuple):
        return tuple(_select(value, rows, width) for value in inputs)
    return inputs
