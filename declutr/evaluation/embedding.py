"""Embed each distinct text of a task once, then look vectors up by text."""

from typing import Any, Callable, Dict, Iterable, Optional, Sequence

import numpy as np
from tqdm.auto import tqdm

# An embedding function: texts in, `(len(texts), dim)` float array out, row i for text i.
Embed = Callable[[Sequence[str]], np.ndarray]
# Texts per `encode` call, in batches: the progress bar moves after each call.
CHUNK_BATCHES = 8


class EmbeddingTable:
    """The vectors of a set of distinct texts; calling it with texts returns their rows.

    # Parameters

    vectors : `Dict[str, np.ndarray]`
        A vector for every text that will be looked up.
    """

    def __init__(self, vectors: Dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """`(len(texts), dim)` float32; raises `KeyError` for a text that was not embedded."""
        return np.stack([self.vectors[text] for text in texts]).astype(np.float32, copy=False)


def embed_distinct(
    encoder: Any,
    texts: Iterable[str],
    batch_size: Optional[int] = None,
    progress: Optional[tqdm] = None,
) -> EmbeddingTable:
    """Embed each distinct text of `texts` once with `encoder.encode`.

    # Parameters

    encoder : `Any`
        Anything with `encode(texts, batch_size=..., show_progress=...)` returning a
        `(len(texts), dim)` array, such as `declutr.Encoder`.
    texts : `Iterable[str]`
        Repeats are embedded once.
    batch_size : `int`, optional (default=`None`)
        Passed to `encode`; `None` keeps the encoder's own. Texts go to `encode` in chunks of
        `CHUNK_BATCHES` batches, longest first (so batches hold texts of similar lengths).
    progress : `tqdm`, optional (default=`None`)
        Advanced by the number of texts of each chunk; its `total` is set to the number of
        distinct texts.
    """
    distinct = sorted(set(texts), key=lambda text: (-len(text), text))
    if progress is not None:
        progress.reset(total=len(distinct))
    chunk_size = (batch_size or getattr(encoder, "batch_size", 32)) * CHUNK_BATCHES
    vectors: Dict[str, np.ndarray] = {}
    for start in range(0, len(distinct), chunk_size):
        chunk = distinct[start : start + chunk_size]
        embeddings = np.asarray(encoder.encode(chunk, batch_size=batch_size, show_progress=False))
        if embeddings.shape[0] != len(chunk):
            raise ValueError(f"encode returned {embeddings.shape[0]} rows for {len(chunk)} texts.")
        vectors.update(zip(chunk, embeddings))
        if progress is not None:
            progress.update(len(chunk))
    return EmbeddingTable(vectors)
