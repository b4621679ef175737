"""Texts longer than the model's limit: truncated to their beginning (the reader's behaviour,
`"truncate"`), or embedded whole in windows whose pooled vectors are averaged (`"chunk_mean"`).

With `"chunk_mean"`, a text of `n` subword tokens (special tokens excluded) is cut into windows
of `max_length` tokens; consecutive windows share `overlap` tokens, and the last window may be
shorter. Each window gets the special tokens, is embedded and mean-pooled as a text of its own,
and the text's vector is the mean of its windows' vectors weighted by each window's number of
tokens (special ones included): the mean over every token position the model saw, so a short
last window counts for little. A text that fits in one window is embedded exactly as with
`"truncate"`.
"""

from typing import Any, List, Sequence, Tuple

import numpy as np

from declutr.inference.options import LONG_TEXTS


def check_long_texts(long_texts: str, overlap: int, max_length: int) -> None:
    """Raise `ValueError` unless `long_texts` is known and `0 <= overlap < max_length`."""
    if long_texts not in LONG_TEXTS:
        raise ValueError(f"long_texts must be one of {LONG_TEXTS}, got {long_texts!r}.")
    if not isinstance(overlap, int) or not 0 <= overlap < max_length:
        raise ValueError(
            f"chunk_overlap must be an integer from 0 to max_length - 1 = {max_length - 1} "
            f"(tokens shared by consecutive windows), got {overlap!r}."
        )


def token_windows(ids: Sequence[int], size: int, overlap: int) -> List[List[int]]:
    """`ids` cut into windows of `size` ids, each starting `size - overlap` after the previous,
    until one reaches the end (an empty `ids` gives one empty window)."""
    step = size - overlap
    windows = [list(ids[start : start + size]) for start in range(0, len(ids), step)]
    # Drop windows wholly inside the previous one (at the end, when the overlap reaches it).
    while len(windows) > 1 and len(windows[-1]) <= overlap:
        windows.pop()
    return windows or [[]]


def all_token_ids(tokenizer: Any, texts: Sequence[str]) -> List[List[int]]:
    """Every subword id of each text, without special tokens."""
    if not texts:
        return []
    return tokenizer(
        list(texts),
        add_special_tokens=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,  # texts are expected to exceed the model's maximum length
    )["input_ids"]


def windows_of_texts(
    tokenizer: Any, texts: Sequence[str], size: int, overlap: int
) -> Tuple[List[List[int]], List[int]]:
    """The windows of every text (without special tokens) and, for each, its text's index."""
    windows: List[List[int]] = []
    owners: List[int] = []
    for index, ids in enumerate(all_token_ids(tokenizer, texts)):
        pieces = token_windows(ids, size, overlap)
        windows.extend(pieces)
        owners.extend([index] * len(pieces))
    return windows, owners


def weighted_mean(
    vectors: np.ndarray, owners: Sequence[int], weights: Sequence[float], num_texts: int
) -> np.ndarray:
    """Row `i` of the result: the mean of the `vectors` whose owner is `i`, weighted by
    `weights`; `(num_texts, dim)` float32."""
    weight = np.asarray(weights, dtype=np.float64)[:, None]
    totals = np.zeros((num_texts, vectors.shape[1]), dtype=np.float64)
    np.add.at(totals, np.asarray(owners), vectors.astype(np.float64) * weight)
    counts = np.zeros((num_texts, 1), dtype=np.float64)
    np.add.at(counts, np.asarray(owners), weight)
    return (totals / np.maximum(counts, 1e-12)).astype(np.float32)
