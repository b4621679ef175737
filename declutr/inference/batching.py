"""The steps between texts and vectors that do not depend on the model: chunks of a stream,
validation of each text and of the options, length-sorted padded batches, and masked mean
pooling."""

import itertools
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import torch

from declutr.data.documents import DocumentFormatError
from declutr.data.texts import invalid_text_reason
from declutr.inference.options import ON_ERROR


def check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}.")


def check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


def mean_pool(hidden_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average `hidden_states`, `(batch_size, seq_len, dim)`, over the positions where `mask`,
    `(batch_size, seq_len)`, is set, as AllenNLP's averaged `bag_of_embeddings` encoder does (an
    all-padding row gives zeros)."""
    # Shape: (batch_size, seq_len, 1)
    weights = mask.unsqueeze(-1).to(hidden_states.dtype)
    return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


def masked_mean(hidden_states: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`mean_pool` in numpy: the mean of `hidden_states`, `(batch_size, seq_len, dim)`, over the
    positions where `mask`, `(batch_size, seq_len)`, is set, in float32."""
    # Shape: (batch_size, seq_len, 1)
    weights = mask[..., None].astype(np.float32)
    summed = (hidden_states.astype(np.float32, copy=False) * weights).sum(axis=1)
    return summed / np.maximum(weights.sum(axis=1), 1.0)


def chunks(items: Iterable[str], size: int) -> Iterator[Tuple[int, List[str]]]:
    """`(index of the first item, items)` for consecutive chunks of `size` items."""
    iterator = iter(items)
    start = 0
    while chunk := list(itertools.islice(iterator, size)):
        yield start, chunk
        start += len(chunk)


def invalid_texts(texts: List[Any], start: int, raise_error: bool) -> Dict[int, str]:
    """Why each invalid text of a chunk starting at text `start` is invalid, by chunk row; with
    `raise_error`, raise for the first one instead."""
    invalid = {}
    for row, text in enumerate(texts):
        if isinstance(text, DocumentFormatError):  # a line `encode_file` could not decode
            reason = str(text)
        elif not isinstance(text, str):
            if raise_error:
                raise TypeError(f"Texts must be strings; text {start + row} is {text!r}.")
            reason = f"Text {start + row} is {text!r}, not a string."
        else:
            problem = invalid_text_reason(text)
            if problem is None:
                continue
            reason = f"Text {start + row} {problem}."
        if raise_error:
            raise ValueError(reason)
        invalid[row] = reason
    return invalid


def pad(rows: List[List[int]], pad_id: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and the attention mask, both `(num_rows, longest)` int64."""
    longest = max(len(row) for row in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[index, : len(row)] = 1
    return ids, mask


def hide_progress(show_progress: Optional[bool], total: Optional[int], threshold: int) -> Any:
    """tqdm's `disable`: `None` lets tqdm hide the bar when stderr is not a terminal; inputs of
    known size up to `threshold` texts get no bar unless `show_progress`."""
    if show_progress is not None:
        return not show_progress
    return None if total is None or total > threshold else True


def sorted_batches(
    rows: List[List[int]], batch_size: int, pad_id: int, token_type_ids: bool
) -> Tuple[List[int], List[Dict[str, torch.Tensor]]]:
    """`rows` (token id lists) sorted longest first and cut into padded batches (right padding,
    as AllenNLP pads: position ids then match the unpadded text for every architecture): the
    order (row indices, batch after batch) and the batches (`input_ids`, `attention_mask` and,
    where the model takes them, all-zero `token_type_ids`, each `(batch_size, longest)`)."""
    order = sorted(range(len(rows)), key=lambda index: -len(rows[index]))
    batches = []
    for start in range(0, len(order), batch_size):
        ids, mask = pad([rows[index] for index in order[start : start + batch_size]], pad_id)
        batch = {"input_ids": ids, "attention_mask": mask}
        if token_type_ids:
            batch["token_type_ids"] = torch.zeros_like(ids)
        batches.append(batch)
    return order, batches
