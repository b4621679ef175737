"""The steps between texts and vectors that do not depend on the model: chunks of a stream,
validation of each text, padding, and masked mean pooling."""

import itertools
from typing import Any, Dict, Iterable, Iterator, List, Tuple

import torch

from declutr.data.documents import DocumentFormatError
from declutr.data.texts import invalid_text_reason


def mean_pool(hidden_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average `hidden_states`, `(batch_size, seq_len, dim)`, over the positions where `mask`,
    `(batch_size, seq_len)`, is set, as AllenNLP's averaged `bag_of_embeddings` encoder does (an
    all-padding row gives zeros)."""
    # Shape: (batch_size, seq_len, 1)
    weights = mask.unsqueeze(-1).to(hidden_states.dtype)
    return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


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
