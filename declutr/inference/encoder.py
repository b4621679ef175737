"""Embed texts with a trained DeCLUTR model: plain torch and a Hugging Face tokenizer at inference.

`Encoder` loads a model once and then needs neither AllenNLP nor the masked-LM head. It gives the
same vectors as `allennlp predict` with the "declutr" predictor: each text is tokenized without
special tokens, truncated to the reader's `max_length` subword tokens, given its special tokens,
encoded, and the last hidden states are averaged over the real (non-padding) tokens.
`Encoder.save_pretrained` writes a directory that `transformers.AutoModel`,
`sentence_transformers.SentenceTransformer` and `Encoder` all load.
"""

import io
import itertools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from declutr.data.documents import iter_lines, iter_lines_or_errors
from declutr.data.texts import (
    default_max_length,
    leading_token_ids,
    max_length_error,
    special_tokens_around,
)
from declutr.files import atomic_path
from declutr.inference import batching, choice, export
from declutr.inference.loading import Loaded, load
from declutr.inference.long_texts import check_long_texts, weighted_mean, windows_of_texts
from declutr.inference.options import AUTO
from declutr.inference.outputs import count_lines, write_embeddings_jsonl, write_embeddings_npy
from declutr.inference.runtimes import check_runtime_options, resolve_device

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]
Texts = Union[str, Iterable[str]]

# Texts tokenized, sorted by length and batched together: bounds memory on streamed input.
CHUNK_BATCHES = 32
# With `show_progress=None`, inputs of known size get a progress bar above this many texts.
PROGRESS_THRESHOLD = 1000


class Encoder:
    """Sentence and document embeddings from a DeCLUTR model, as a numpy array.

    Vectors are the masked mean of the transformer's last hidden states, the pooling DeCLUTR
    trains with, computed in float32. With `precision="float32"` and `backend="torch"` they equal
    the "embeddings" of `allennlp predict` with the "declutr" predictor (within 1e-5); reduced
    precision and the other runtimes change the arithmetic inside the transformer only (see
    `declutr.inference.runtimes`), and the default, `"auto"`, takes the fastest of them that
    keeps a cosine of at least 0.9999 to torch float32 on this machine. A model trained with a
    `feedforward` is still represented by its pooled vectors (the predictor's "embeddings"), not
    by its "projections".

    Texts are embedded as given, as the predictor does: the empty string is valid (its vector is
    that of the special tokens alone), and so are whitespace-only strings. A text longer than
    `max_length` subword tokens is truncated (only its beginning is tokenized); such texts are
    counted in `truncated`, and the first logs a warning, once per encoder (with
    `long_texts="chunk_mean"` they are embedded whole instead). Invalid texts (not a
    string, or holding a lone surrogate) raise, or with `on_error="skip"` give a row of NaN, so
    that row `i` still embeds text `i`; they are counted in `skipped`.

    Archives are loaded with `declutr.compat.archives.load_archive_safely`: one that is truncated
    or corrupt raises `ArchiveError`, and one whose weights hold pickled code (or anything but
    tensors) raises `UnsafeArchiveError` without running it.

    # Parameters

    model : `str | os.PathLike`
        An AllenNLP archive (`model.tar.gz`, a path or URL) or serialization directory of a
        "declutr" model; a directory written by `save_pretrained` (or `declutr export`); or a
        Hugging Face encoder, as a local directory or a hub name. Archives need the base model
        their config names (`model_name`) to be reachable, as `allennlp predict` does.
    device : `str | int | torch.device`, optional (default=`None`)
        Where to run the model. `None` picks the first GPU if there is one, else the CPU.
    batch_size : `int`, optional (default=`32`)
        Texts per forward pass (texts are sorted by length first, so padding stays small).
    max_length : `int`, optional (default=`None`)
        Most subword tokens kept per text, special tokens excluded (the reader's `max_length`);
        longer texts are truncated on the right. `None` takes it from the archive's reader, from
        an exported directory's `sentence_bert_config.json`, or from the tokenizer's maximum.
        More than the model's positions hold is refused with a `ValueError` naming the largest
        allowed value (`declutr.data.texts.max_length_limit`).
    precision, backend : `str`, optional (default=`"auto"`)
        The arithmetic inside the transformer (`"float32"`, `"bfloat16"`, `"float16"`, `"int8"`;
        pooling is always float32) and who runs it (`"torch"`, or on the CPU `"openvino"`,
        `"onnx"`: extras, models read from an export's folders or converted here). `"auto"`
        takes the fastest installed runtime whose vectors keep a cosine of 0.9999 to torch
        float32's, logged and kept in `runtime_choice` (`declutr.inference.choice`, which says
        what each device supports; unsupported combinations raise `ValueError`).
    long_texts : `str`, optional (default=`"truncate"`)
        `"truncate"` texts to their first `max_length` tokens, or `"chunk_mean"`: average the
        vectors of a longer text's windows, weighted by tokens (`declutr.inference.long_texts`).
    chunk_overlap : `int`, optional (default=`0`)
        With `"chunk_mean"`: tokens shared by consecutive windows, from 0 to `max_length - 1`.
    """

    def __init__(
        self,
        model: PathLike,
        device: Optional[Union[str, int, torch.device]] = None,
        batch_size: int = 32,
        max_length: Optional[int] = None,
        precision: str = AUTO,
        backend: str = AUTO,
        long_texts: str = "truncate",
        chunk_overlap: int = 0,
    ) -> None:
        batching.check_positive("batch_size", batch_size)
        if max_length is not None:
            batching.check_positive("max_length", max_length)
        # A `Loaded` (the parts of a model already in memory) serves the predictor.
        self.source = "<model in memory>" if isinstance(model, Loaded) else str(model)
        loaded = model if isinstance(model, Loaded) else load(self.source)
        self.tokenizer = loaded.tokenizer
        self.num_special_tokens = self.tokenizer.num_special_tokens_to_add(pair=False)
        self._special_tokens = special_tokens_around(self.tokenizer)
        self._uses_token_type_ids = "token_type_ids" in self.tokenizer.model_input_names
        config = loaded.transformer.config
        self.max_length: int = (
            max_length or loaded.max_length or default_max_length(self.tokenizer, config)
        )
        too_long = max_length_error(self.max_length, self.tokenizer, config, self.source)
        if too_long:
            raise ValueError(too_long)
        self.batch_size = batch_size
        self.base_model = loaded.base_model
        self.training_config = loaded.training_config
        check_long_texts(long_texts, chunk_overlap, self.max_length)
        self.long_texts, self.chunk_overlap = long_texts, chunk_overlap
        self.device = resolve_device(device)
        backend = choice.option_value("backend", backend)
        precision = choice.option_value("precision", precision)
        check_runtime_options(backend, precision, self.device)  # before moving the model
        self.transformer = loaded.transformer.to(self.device).float().eval().requires_grad_(False)
        self.runtime, self.runtime_choice = choice.choose_runtime(self, backend, precision, model)
        self.precision, self.backend = self.runtime_choice.precision, self.runtime_choice.backend
        self.truncated = self.skipped = 0

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        return int(self.transformer.config.hidden_size)

    def __repr__(self) -> str:
        return (
            f"Encoder({self.source!r}, device={str(self.device)!r}, batch_size={self.batch_size}, "
            f"max_length={self.max_length}, precision={self.precision!r}, "
            f"backend={self.backend!r}, long_texts={self.long_texts!r})"
        )

    def token_ids(self, text: str) -> List[int]:
        """The token ids the model sees for `text`, with special tokens: truncated, or with
        `"chunk_mean"` those of its first window."""
        return self._token_rows([text])[0][0]

    def encode(
        self,
        texts: Texts,
        batch_size: Optional[int] = None,
        normalize: bool = False,
        show_progress: Optional[bool] = None,
        on_error: str = "raise",
    ) -> np.ndarray:
        """Embed `texts`.

        # Parameters

        texts : `str | Iterable[str]`
            One text, a list of texts, or any iterable of texts. An open text file gives one text
            per line (its line break removed); iterables are read in chunks, so only the output
            grows with their length.
        batch_size : `int`, optional (default=`None`)
            Overrides the encoder's `batch_size`.
        normalize : `bool`, optional (default=`False`)
            Scale every vector to unit L2 norm (dot products are then cosine similarities).
        show_progress : `bool`, optional (default=`None`)
            `None` shows a progress bar (on a terminal) for more than `PROGRESS_THRESHOLD` texts
            or an input of unknown length.
        on_error : `str`, optional (default=`"raise"`)
            What an invalid text (not a string, or holding a lone surrogate) does: `"raise"` a
            `TypeError` or `ValueError` naming its index, or `"skip"` it: its row is NaN (test
            with `numpy.isnan(row).any()`), it is counted in `skipped`, and the first skip logs a
            warning.

        # Returns

        `numpy.ndarray` of float32: shape `(dim,)` for one string, else `(num_texts, dim)`, row
        `i` embedding text `i`.
        """
        if isinstance(texts, str):
            return self.encode([texts], batch_size, normalize, False, on_error)[0]
        chunks = list(self.iter_encode(texts, batch_size, normalize, show_progress, on_error))
        if not chunks:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(chunks)

    def iter_encode(
        self,
        texts: Iterable[str],
        batch_size: Optional[int] = None,
        normalize: bool = False,
        show_progress: Optional[bool] = None,
        on_error: str = "raise",
    ) -> Iterator[np.ndarray]:
        """Embed `texts` chunk by chunk, yielding float32 arrays of shape `(chunk_size, dim)` in
        input order: memory stays flat whatever the input's length. Parameters as in `encode`."""
        for embeddings, _ in self._iter_encode(
            texts, batch_size, normalize, show_progress, on_error
        ):
            yield embeddings

    def _iter_encode(
        self,
        texts: Iterable[Any],
        batch_size: Optional[int],
        normalize: bool,
        show_progress: Optional[bool],
        on_error: str,
    ) -> Iterator[Tuple[np.ndarray, Dict[int, str]]]:
        """`iter_encode`, with each chunk's skipped rows (chunk row: why)."""
        batch_size = batch_size or self.batch_size
        batching.check_positive("batch_size", batch_size)
        batching.check_on_error(on_error)
        if isinstance(texts, str):
            raise TypeError("iter_encode takes an iterable of texts; use encode for one string.")
        total = len(texts) if isinstance(texts, Sequence) else None
        if isinstance(texts, io.IOBase):
            texts = (line.rstrip("\r\n") for line in texts)
        hide = batching.hide_progress(show_progress, total, PROGRESS_THRESHOLD)
        progress = tqdm(total=total, unit="text", desc="Embedding", disable=hide)
        with progress:
            for start, chunk in batching.chunks(texts, batch_size * CHUNK_BATCHES):
                invalid = batching.invalid_texts(chunk, start, raise_error=on_error == "raise")
                self._note_skips(invalid)
                yield self._encode_chunk(chunk, batch_size, normalize, progress, invalid), invalid

    def encode_file(
        self,
        input_path: PathLike,
        output_path: PathLike,
        batch_size: Optional[int] = None,
        normalize: bool = False,
        show_progress: Optional[bool] = None,
        on_error: str = "raise",
        lines: Optional[Tuple[int, int]] = None,
        num_lines: Optional[int] = None,
    ) -> int:
        """Embed every line of a document file and write the vectors, streaming both ways.

        # Parameters

        input_path : `str | os.PathLike`
            One text per line: plain text, or JSON lines with a `"text"` field (`*.jsonl`),
            optionally gzipped, as the "declutr" reader reads them (lines are stripped; empty
            lines are embedded too, so row `i` is line `i`).
        output_path : `str | os.PathLike`
            `*.npy`: a float32 array of shape `(num_lines, dim)`. `*.jsonl`: one
            `{"embeddings": [...]}` per line, as `allennlp predict` writes. Written to a
            `.partial` file first and renamed when complete.
        batch_size, normalize, show_progress
            As in `encode`.
        on_error : `str`, optional (default=`"raise"`)
            A line that cannot be decoded (invalid UTF-8 or JSON, no string `"text"`) raises
            `DocumentFormatError` naming the file and line with `"raise"`; with `"skip"` its row
            is NaN (`.npy`) or `{"embeddings": null, "error": "..."}` (`.jsonl`, as the
            predictor's `skip_invalid` writes), and it is counted in `skipped`. A truncated or
            corrupt gzip input raises either way.
        lines : `Tuple[int, int]`, optional (default=`None`)
            `(start, end)`: embed lines `start` to `end - 1` only (0-based; `end` may pass the
            last line), row `i` of the output being line `start + i`. `declutr.inference.sharding`
            embeds one shard of a corpus this way.
        num_lines : `int`, optional (default=`None`)
            The input's number of lines, when the caller has counted them: a `.npy` output
            then needs no counting pass over the input.

        # Returns

        The number of lines embedded.
        """
        output_path = Path(output_path)
        suffix = output_path.suffix.lower()
        if suffix not in (".npy", ".jsonl"):
            raise ValueError(
                f"Cannot write embeddings to {output_path}: the name must end in .npy (a float32 "
                "array) or .jsonl (one JSON object per line)."
            )
        if not Path(input_path).is_file():
            raise FileNotFoundError(f"No input file {input_path}.")
        batching.check_on_error(on_error)
        if lines is not None and not (0 <= lines[0] <= lines[1]):
            raise ValueError(f"lines must be (start, end) with 0 <= start <= end, got {lines}.")
        numbered = (
            iter_lines(input_path) if on_error == "raise" else iter_lines_or_errors(input_path)
        )
        texts: Iterable[Any] = (text for _, text in numbered)
        if lines is not None:
            texts = itertools.islice(texts, *lines)
        chunks = self._iter_encode(texts, batch_size, normalize, show_progress, on_error)
        with atomic_path(output_path) as temporary:
            if suffix == ".jsonl":
                return write_embeddings_jsonl(chunks, temporary)
            num_rows = count_lines(input_path) if num_lines is None else num_lines
            if lines is not None:
                num_rows = max(0, min(lines[1], num_rows) - lines[0])
            arrays = (embeddings for embeddings, _ in chunks)
            return write_embeddings_npy(arrays, temporary, num_rows, self.dim)

    def save_pretrained(self, output_dir: PathLike, backends: Sequence[str] = ()) -> Path:
        """Write the encoder as a Hugging Face and sentence-transformers model directory.

        The directory holds the transformer without any masked-LM head (loadable with
        `transformers.AutoModel`), its tokenizer, the sentence-transformers module files (a
        Transformer with this encoder's maximum length, then mean pooling) and a model card
        (`README.md`) naming the base model, the training data and the training config.
        sentence-transformers is not needed to write it.

        # Parameters

        output_dir : `str | os.PathLike`
            Created if missing; files already there with the same names are overwritten.
        backends : `Sequence[str]`, optional (default=`()`)
            Also write the float32 model of each runtime named, `"openvino"`
            (`openvino/openvino_model.xml`) or `"onnx"` (`onnx/model.onnx`), where
            sentence-transformers' `backend=` option and `Encoder` find them.

        # Returns

        The output directory.
        """
        return export.save_pretrained(self, output_dir, backends)

    def _token_rows(self, texts: List[str]) -> Tuple[List[List[int]], List[int]]:
        """The token ids of every row the model embeds, with the special tokens around them,
        and each row's text: one row per text (its first `max_length` subword ids, as the
        reader cuts them), or with `"chunk_mean"` one per window."""
        before, after = self._special_tokens
        if self.long_texts == "chunk_mean":
            windows, owners = windows_of_texts(
                self.tokenizer, texts, self.max_length, self.chunk_overlap
            )
            return [before + ids + after for ids in windows], owners
        leading = leading_token_ids(self.tokenizer, texts, self.max_length)
        self._note_truncations(sum(truncated for _, truncated in leading))
        return [before + ids + after for ids, _ in leading], list(range(len(texts)))

    def _encode_chunk(
        self,
        texts: List[Any],
        batch_size: int,
        normalize: bool,
        progress: tqdm,
        invalid: Dict[int, str],
    ) -> np.ndarray:
        """Embed `texts`, sorted by length into batches, and return them in input order; the
        rows of `invalid` texts are NaN."""
        output = np.full((len(texts), self.dim), np.nan, dtype=np.float32)
        valid = [index for index in range(len(texts)) if index not in invalid]
        rows, owners = self._token_rows([texts[index] for index in valid])
        order, batches = batching.sorted_batches(
            rows, batch_size, self.tokenizer.pad_token_id or 0, self._uses_token_type_ids
        )
        vectors = np.zeros((len(rows), self.dim), dtype=np.float32)
        if batches:
            vectors[order] = np.concatenate(self.runtime.pooled(batches))
        if self.long_texts == "chunk_mean":
            vectors = weighted_mean(vectors, owners, [len(row) for row in rows], len(valid))
        if normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        output[valid] = vectors
        progress.update(len(texts))
        return output

    def _note_truncations(self, count: int) -> None:
        if count and not self.truncated:
            logger.warning(
                "Some texts are longer than max_length=%d subword tokens and were truncated to "
                "their beginning; they are counted in the encoder's `truncated`.",
                self.max_length,
            )
        self.truncated += count

    def _note_skips(self, invalid: Dict[int, str]) -> None:
        if invalid and not self.skipped:
            logger.warning(
                "Skipped an invalid text (%s): its row is NaN. Further skips are counted in the "
                "encoder's `skipped`.",
                next(iter(invalid.values())),
            )
        self.skipped += len(invalid)
