"""Embedding output files: the `.npy` and `.jsonl` writers, written whole or not at all
(`declutr.files.atomic_path`), and line counting of document files."""

import json
from typing import Dict, Iterable, Iterator, Tuple

import numpy as np

from declutr.data.documents import iter_lines_or_errors
from declutr.files import PathLike


def count_lines(path: PathLike) -> int:
    """The number of lines of a document file (plain or JSON lines, optionally gzipped), those
    that cannot be decoded included."""
    return sum(1 for _ in iter_lines_or_errors(path))


def write_npy(
    path: PathLike, blocks: Iterable[Tuple[int, np.ndarray]], shape: Tuple[int, int]
) -> int:
    """Write a float32 `.npy` array of `shape`, block by block through a memory map, so that
    memory stays flat: each block is `(first row, rows)`. Returns the number of rows written."""
    if shape[0] == 0:
        with open(path, "wb") as handle:
            np.save(handle, np.zeros(shape, dtype=np.float32), allow_pickle=False)
        return 0
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    written = 0
    for start, rows in blocks:
        array[start : start + len(rows)] = rows
        written += len(rows)
    array.flush()
    del array
    return written


def consecutive(chunks: Iterable[np.ndarray]) -> Iterator[Tuple[int, np.ndarray]]:
    """`(first row, rows)` blocks of `chunks` laid end to end, for `write_npy`."""
    start = 0
    for chunk in chunks:
        yield start, chunk
        start += len(chunk)


def write_embeddings_npy(
    chunks: Iterable[np.ndarray], path: PathLike, num_rows: int, dim: int
) -> int:
    """Fill a `.npy` of shape `(num_rows, dim)` with `chunks` in order; raise if they do not
    hold exactly `num_rows` rows."""
    if num_rows == 0:
        return write_npy(path, (), (0, dim))
    row = write_npy(path, consecutive(chunks), (num_rows, dim))
    if row != num_rows:
        raise RuntimeError(f"Expected {num_rows} lines but embedded {row}; did the input change?")
    return row


def write_embeddings_jsonl(
    chunks: Iterable[Tuple[np.ndarray, Dict[int, str]]], path: PathLike
) -> int:
    """One `{"embeddings": [...]}` line per row, `{"embeddings": null, "error": ...}` for the
    skipped ones (as the predictor writes them)."""
    row = 0
    with open(path, "w", encoding="utf-8") as handle:
        for chunk, invalid in chunks:
            for index, vector in enumerate(chunk):
                if index in invalid:
                    line = {"embeddings": None, "error": invalid[index]}
                else:
                    line = {"embeddings": vector.tolist()}
                handle.write(json.dumps(line) + "\n")
            row += len(chunk)
    return row
