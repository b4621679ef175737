"""Embed texts with a trained DeCLUTR model: plain torch and a Hugging Face tokenizer at inference.

`Encoder` loads a model once and then needs neither AllenNLP nor the masked-LM head. It gives the
same vectors as `allennlp predict` with the "declutr" predictor: each text is tokenized without
special tokens, truncated to the reader's `max_length` subword tokens, given its special tokens,
encoded, and the last hidden states are averaged over the real (non-padding) tokens.
`Encoder.save_pretrained` writes a directory that `transformers.AutoModel`,
`sentence_transformers.SentenceTransformer` and `Encoder` all load.
"""

import copy
import io
import itertools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from allennlp.common import Params
from allennlp.data.tokenizers import Tokenizer
from allennlp.modules.token_embedders import PretrainedTransformerEmbedder, TokenEmbedder
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer, PreTrainedModel
from transformers.utils import cached_file

from declutr.common.archives import ArchiveError, load_archive_safely
from declutr.common.texts import invalid_text_reason, leading_token_ids, special_tokens_around
from declutr.data.documents import DocumentFormatError, iter_lines, iter_lines_or_errors
from declutr.modules.token_embedders import PretrainedTransformerMLMEmbedder

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]
Texts = Union[str, Iterable[str]]

# What an invalid text does: raise an error, or give a row of NaN.
ON_ERROR = ("raise", "skip")
# Texts tokenized, sorted by length and batched together: bounds memory on streamed input.
CHUNK_BATCHES = 32
# With `show_progress=None`, inputs of known size get a progress bar above this many texts.
PROGRESS_THRESHOLD = 1000
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_ST_TRANSFORMER = "sentence_transformers.models.Transformer"
_ST_POOLING = "sentence_transformers.models.Pooling"
_POOLING_DIR = "1_Pooling"
_MEAN_POOLING = {
    "pooling_mode_cls_token": False,
    "pooling_mode_mean_tokens": True,
    "pooling_mode_max_tokens": False,
    "pooling_mode_mean_sqrt_len_tokens": False,
    "pooling_mode_weightedmean_tokens": False,
    "pooling_mode_lasttoken": False,
}
_HOW_TO = (
    "Pass an AllenNLP archive (model.tar.gz) or serialization directory trained with declutr, a "
    "directory written by scripts/export.py, or a Hugging Face model (local directory or name)."
)


@dataclass
class _Loaded:
    """What every kind of `model` source provides."""

    transformer: PreTrainedModel
    tokenizer: Any
    max_length: Optional[int]
    base_model: Optional[str] = None
    training_config: Optional[Dict[str, Any]] = None


class Encoder:
    """Sentence and document embeddings from a DeCLUTR model, as a numpy array.

    Vectors are the masked mean of the transformer's last hidden states, the pooling DeCLUTR
    trains with, computed in float32. They equal the "embeddings" of `allennlp predict` with the
    "declutr" predictor (within 1e-5). A model trained with a `feedforward` is still represented
    by its pooled vectors (the predictor's "embeddings"), not by its "projections".

    Texts are embedded as given, as the predictor does: the empty string is valid (its vector is
    that of the special tokens alone), and so are whitespace-only strings. A text longer than
    `max_length` subword tokens is truncated (only its beginning is tokenized); such texts are
    counted in `truncated`, and the first logs a warning, once per encoder. Invalid texts (not a
    string, or holding a lone surrogate) raise, or with `on_error="skip"` give a row of NaN, so
    that row `i` still embeds text `i`; they are counted in `skipped`.

    Archives are loaded with `declutr.common.archives.load_archive_safely`: one that is truncated
    or corrupt raises `ArchiveError`, and one whose weights hold pickled code (or anything but
    tensors) raises `UnsafeArchiveError` without running it.

    # Parameters

    model : `str | os.PathLike`
        An AllenNLP archive (`model.tar.gz`, a path or URL) or serialization directory of a
        "declutr" model; a directory written by `save_pretrained` (or `scripts/export.py`); or a
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
    """

    def __init__(
        self,
        model: PathLike,
        device: Optional[Union[str, int, torch.device]] = None,
        batch_size: int = 32,
        max_length: Optional[int] = None,
    ) -> None:
        _check_positive("batch_size", batch_size)
        if max_length is not None:
            _check_positive("max_length", max_length)
        self.source = str(model)
        loaded = _load(self.source)
        self.tokenizer = loaded.tokenizer
        self.num_special_tokens = self.tokenizer.num_special_tokens_to_add(pair=False)
        self._special_tokens = special_tokens_around(self.tokenizer)
        self._uses_token_type_ids = "token_type_ids" in self.tokenizer.model_input_names
        self.max_length: int = (
            max_length or loaded.max_length or _default_max_length(self.tokenizer)
        )
        self.batch_size = batch_size
        self.base_model = loaded.base_model
        self.training_config = loaded.training_config
        self.device = _resolve_device(device)
        self.transformer = loaded.transformer.to(self.device).float().eval().requires_grad_(False)
        self.truncated = 0
        self.skipped = 0

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        return int(self.transformer.config.hidden_size)

    def __repr__(self) -> str:
        return (
            f"Encoder({self.source!r}, device={str(self.device)!r}, batch_size={self.batch_size}, "
            f"max_length={self.max_length})"
        )

    def token_ids(self, text: str) -> List[int]:
        """The token ids the model sees for `text`: truncated, with special tokens."""
        return self._tokenize([text])["input_ids"][0]

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
        _check_positive("batch_size", batch_size)
        _check_on_error(on_error)
        if isinstance(texts, str):
            raise TypeError("iter_encode takes an iterable of texts; use encode for one string.")
        total = len(texts) if isinstance(texts, Sequence) else None
        if isinstance(texts, io.IOBase):
            texts = (line.rstrip("\r\n") for line in texts)
        progress = tqdm(
            total=total, unit="text", desc="Embedding", disable=_hide_progress(show_progress, total)
        )
        with progress:
            for start, chunk in _chunks(texts, batch_size * CHUNK_BATCHES):
                invalid = _invalid_texts(chunk, start, raise_error=on_error == "raise")
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
            last line), row `i` of the output being line `start + i`. `declutr.sharding` embeds
            one shard of a corpus this way.
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
        _check_on_error(on_error)
        if lines is not None and not (0 <= lines[0] <= lines[1]):
            raise ValueError(f"lines must be (start, end) with 0 <= start <= end, got {lines}.")
        temporary = output_path.with_name(output_path.name + ".partial")
        numbered = (
            iter_lines(input_path) if on_error == "raise" else iter_lines_or_errors(input_path)
        )
        texts: Iterable[Any] = (text for _, text in numbered)
        if lines is not None:
            texts = itertools.islice(texts, *lines)
        chunks = self._iter_encode(texts, batch_size, normalize, show_progress, on_error)
        if suffix == ".npy":
            arrays = (embeddings for embeddings, _ in chunks)
            num_rows = _count_lines(input_path) if num_lines is None else num_lines
            if lines is not None:
                num_rows = max(0, min(lines[1], num_rows) - lines[0])
            count = _write_npy(arrays, temporary, num_rows, self.dim)
        else:
            count = _write_jsonl(chunks, temporary)
        os.replace(temporary, output_path)
        return count

    def save_pretrained(self, output_dir: PathLike) -> Path:
        """Write the encoder as a Hugging Face and sentence-transformers model directory.

        The directory holds the transformer without any masked-LM head (loadable with
        `transformers.AutoModel`), its tokenizer, the sentence-transformers module files (a
        Transformer with this encoder's maximum length, then mean pooling) and a model card
        (`README.md`) naming the base model, the training data and the training config.
        sentence-transformers is not needed to write it.

        # Parameters

        output_dir : `str | os.PathLike`
            Created if missing; files already there with the same names are overwritten.

        # Returns

        The output directory.
        """
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        _complete_model(self.transformer).save_pretrained(str(output_dir))
        self.tokenizer.save_pretrained(str(output_dir))
        _write_sentence_transformers_files(
            output_dir, self.dim, self.max_length + self.num_special_tokens
        )
        (output_dir / "README.md").write_text(self._model_card(), encoding="utf-8")
        return output_dir

    def _tokenize(self, texts: List[str]) -> Dict[str, List[List[int]]]:
        """The reader's first `max_length` subword ids of each text, with the special tokens
        around them (token type ids, where the model takes them, are 0 as for one sequence)."""
        before, after = self._special_tokens
        leading = leading_token_ids(self.tokenizer, texts, self.max_length)
        self._note_truncations(sum(truncated for _, truncated in leading))
        input_ids = [before + ids + after for ids, _ in leading]
        if not self._uses_token_type_ids:
            return {"input_ids": input_ids}
        return {"input_ids": input_ids, "token_type_ids": [[0] * len(ids) for ids in input_ids]}

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
        encoded = self._tokenize([texts[index] for index in valid])
        order = sorted(range(len(valid)), key=lambda i: -len(encoded["input_ids"][i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            batch = {key: [values[i] for i in rows] for key, values in encoded.items()}
            output[[valid[i] for i in rows]] = self._encode_batch(batch, normalize).cpu().numpy()
            progress.update(len(rows))
        progress.update(len(invalid))
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

    @torch.inference_mode()
    def _encode_batch(self, batch: Dict[str, List[List[int]]], normalize: bool) -> torch.Tensor:
        """Mean-pooled vectors, `(batch_size, dim)`, of token id lists (padded on the right, as
        AllenNLP does; position ids then match the unpadded text for every architecture)."""
        input_ids, mask = _pad(batch["input_ids"], self.tokenizer.pad_token_id or 0)
        inputs = {"input_ids": input_ids.to(self.device), "attention_mask": mask.to(self.device)}
        if "token_type_ids" in batch:
            type_ids, _ = _pad(batch["token_type_ids"], self.tokenizer.pad_token_type_id)
            inputs["token_type_ids"] = type_ids.to(self.device)
        hidden_states = self.transformer(**inputs).last_hidden_state.float()
        embeddings = mean_pool(hidden_states, inputs["attention_mask"])
        if normalize:
            embeddings = torch.nn.functional.normalize(embeddings, p=2, dim=-1)
        return embeddings

    def _model_card(self) -> str:
        reader = _reader_config(self.training_config or {})
        return _MODEL_CARD.format(
            front_matter=_front_matter(self.base_model),
            source=self.source,
            base_model=self.base_model or "unknown",
            train_data_path=(self.training_config or {}).get("train_data_path", "unknown"),
            dim=self.dim,
            max_length=self.max_length,
            max_seq_length=self.max_length + self.num_special_tokens,
            span_lengths=f"{reader.get('min_span_len')}-{reader.get('max_span_len')}",
            config=json.dumps(self.training_config, indent=2) if self.training_config else "{}",
        )


def mean_pool(hidden_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average `hidden_states`, `(batch_size, seq_len, dim)`, over the positions where `mask`,
    `(batch_size, seq_len)`, is set, as AllenNLP's averaged `bag_of_embeddings` encoder does (an
    all-padding row gives zeros)."""
    # Shape: (batch_size, seq_len, 1)
    weights = mask.unsqueeze(-1).to(hidden_states.dtype)
    return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


# Loading.


def _load(source: str) -> _Loaded:
    """Dispatch on the kind of `source`; see `Encoder`'s `model` parameter."""
    path = Path(source).expanduser()
    if path.is_file():
        return _load_archive(str(path))
    if path.is_dir():
        if _is_serialization_dir(path):
            return _load_archive(str(path))
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{source} is a directory without a config.json, so it is neither an AllenNLP "
                f"serialization directory nor a Hugging Face model. {_HOW_TO}"
            )
        return _load_hugging_face(str(path))
    if source.startswith(("http://", "https://", "s3://", "gs://")):
        return _load_archive(source)
    if source.endswith(_ARCHIVE_SUFFIXES) or path.is_absolute() or source.startswith((".", "~")):
        raise FileNotFoundError(f"No file or directory {source}. {_HOW_TO}")
    return _load_hugging_face(source)


def _is_serialization_dir(path: Path) -> bool:
    """An AllenNLP config.json has a "model" object; a Hugging Face one has a "model_type"."""
    config = path / "config.json"
    if not config.is_file():
        return False
    content = json.loads(config.read_text(encoding="utf-8"))
    if not (isinstance(content.get("model"), dict) and "model_type" not in content):
        return False
    if not any((path / name).is_file() for name in ("weights.th", "best.th")):
        raise FileNotFoundError(
            f"{path} is an AllenNLP serialization directory without weights (weights.th or "
            "best.th): training has not saved a model yet. Use its model.tar.gz once it has."
        )
    return True


def _load_archive(source: str) -> _Loaded:
    """The transformer, tokenizer and maximum length of a trained "declutr" model."""
    try:
        archive = load_archive_safely(source, cuda_device=-1)
    except ArchiveError:
        raise  # its message names the archive and says what is wrong
    except Exception as error:
        raise ValueError(
            f"Cannot load the AllenNLP archive {source}: {type(error).__name__}: {error}. "
            "Is it a model.tar.gz (or serialization directory) trained with declutr, and is the "
            "base model its config names reachable?"
        ) from error
    config = archive.config.as_dict(quiet=True)
    model_config = config.get("model", {})
    _check_archived_model(model_config, source)
    reader_config = _reader_config(config)
    tokenizer = Tokenizer.from_params(Params(dict(reader_config["tokenizer"]))).tokenizer
    return _Loaded(
        transformer=_archived_transformer(archive.model, model_config, source),
        tokenizer=tokenizer,
        max_length=reader_config.get("max_length"),
        base_model=reader_config["tokenizer"].get("model_name"),
        training_config=config,
    )


def _reader_config(config: Dict[str, Any]) -> Dict[str, Any]:
    """The reader the predictor uses: the validation reader if there is one."""
    return config.get("validation_dataset_reader") or config.get("dataset_reader") or {}


def _check_archived_model(model_config: Dict[str, Any], source: str) -> None:
    """Raise unless the model pools as `Encoder` does (masked mean pooling)."""
    if model_config.get("type") != "declutr":
        raise ValueError(
            f'{source} holds a "{model_config.get("type")}" model; Encoder reads "declutr" '
            "models only."
        )
    pooling = model_config.get("seq2vec_encoder")
    if pooling is not None and not (
        pooling.get("type") == "bag_of_embeddings" and pooling.get("averaged")
    ):
        raise ValueError(
            f"The model of {source} pools with {pooling}, but Encoder computes masked mean "
            'pooling only ({"type": "bag_of_embeddings", "averaged": true}, the default). Use '
            "`allennlp predict` with the declutr predictor for this model."
        )
    if model_config.get("feedforward") is not None:
        logger.info(
            "%s has a feedforward; Encoder returns the pooled embeddings, not projections.", source
        )


def _archived_transformer(
    model: torch.nn.Module, model_config: Dict[str, Any], source: str
) -> PreTrainedModel:
    """The Hugging Face encoder inside the model's only token embedder (never an MLM head)."""
    embedders = [module for module in model.modules() if isinstance(module, TokenEmbedder)]
    if len(embedders) != 1:
        raise ValueError(
            f"The model of {source} has {len(embedders)} token embedders; Encoder needs exactly "
            'one, of type "pretrained_transformer_mlm" or "pretrained_transformer".'
        )
    embedder = embedders[0]
    if isinstance(embedder, PretrainedTransformerMLMEmbedder):
        return embedder.mlm_model.base_model
    if isinstance(embedder, PretrainedTransformerEmbedder):
        _check_plain_embedder(model_config, source)
        return embedder.transformer_model
    raise ValueError(
        f"The token embedder of {source} is a {type(embedder).__name__}; Encoder needs a "
        '"pretrained_transformer_mlm" or "pretrained_transformer" embedder.'
    )


def _check_plain_embedder(model_config: Dict[str, Any], source: str) -> None:
    """allennlp's "pretrained_transformer" embedder can fold long inputs or mix layers, which
    `Encoder` does not reproduce."""
    embedders = model_config.get("text_field_embedder", {}).get("token_embedders", {})
    for name, params in embedders.items():
        if params.get("max_length") is not None or params.get("last_layer_only") is False:
            raise ValueError(
                f'The token embedder "{name}" of {source} sets max_length or '
                "last_layer_only=false; Encoder supports neither. Use `allennlp predict`."
            )


def _load_hugging_face(source: str) -> _Loaded:
    """A Hugging Face encoder, possibly with sentence-transformers files (an exported model)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        transformer = AutoModel.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise OSError(
            f"Cannot load {source} as a Hugging Face model (local directory or hub name): "
            f"{error}. {_HOW_TO}"
        ) from error
    max_seq_length = _sentence_transformers_max_seq_length(source)
    num_special = tokenizer.num_special_tokens_to_add(pair=False)
    return _Loaded(
        transformer=transformer,
        tokenizer=tokenizer,
        max_length=max_seq_length - num_special if max_seq_length else None,
        base_model=source,
    )


def _optional_json(source: str, filename: str) -> Optional[Any]:
    """A JSON file of a local model directory or hub repository, or `None` if it has none."""
    path = cached_file(
        source,
        filename,
        _raise_exceptions_for_missing_entries=False,
        _raise_exceptions_for_connection_errors=False,
    )
    return json.loads(Path(path).read_text(encoding="utf-8")) if path else None


def _sentence_transformers_max_seq_length(source: str) -> Optional[int]:
    """`max_seq_length` (special tokens included) of a sentence-transformers model, after
    checking that it mean-pools; `None` for a plain Hugging Face model."""
    modules = _optional_json(source, "modules.json") or []
    for module in modules:
        if module.get("type") == _ST_POOLING:
            pooling = _optional_json(source, f"{module['path']}/config.json") or {}
            modes = {key: pooling.get(key, False) for key in _MEAN_POOLING}
            if modes != _MEAN_POOLING:
                raise ValueError(
                    f"{source} is a sentence-transformers model that does not pool by the mean "
                    f"alone ({modes}); Encoder computes mean pooling only."
                )
    settings = _optional_json(source, "sentence_bert_config.json") or {}
    return settings.get("max_seq_length")


def _default_max_length(tokenizer: Any) -> int:
    """The reader's default: the tokenizer's maximum less its special tokens."""
    model_max = tokenizer.model_max_length
    # Tokenizers without a known maximum report a huge sentinel value.
    return (model_max if model_max < 100_000 else 512) - tokenizer.num_special_tokens_to_add()


def _resolve_device(device: Optional[Union[str, int, torch.device]]) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, int):
        return torch.device("cpu") if device < 0 else torch.device("cuda", device)
    return torch.device(device)


def _check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}.")


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")


# Encoding.


def _chunks(items: Iterable[str], size: int) -> Iterator[Tuple[int, List[str]]]:
    """`(index of the first item, items)` for consecutive chunks of `size` items."""
    iterator = iter(items)
    start = 0
    while chunk := list(itertools.islice(iterator, size)):
        yield start, chunk
        start += len(chunk)


def _invalid_texts(texts: List[Any], start: int, raise_error: bool) -> Dict[int, str]:
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


def _hide_progress(show_progress: Optional[bool], total: Optional[int]) -> Optional[bool]:
    """tqdm's `disable`: `None` lets tqdm hide the bar when stderr is not a terminal."""
    if show_progress is not None:
        return not show_progress
    return None if total is None or total > PROGRESS_THRESHOLD else True


def _pad(rows: List[List[int]], pad_id: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and the attention mask, both `(num_rows, longest)` int64."""
    longest = max(len(row) for row in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[index, : len(row)] = 1
    return ids, mask


def _count_lines(path: PathLike) -> int:
    return sum(1 for _ in iter_lines_or_errors(path))


def _write_npy(chunks: Iterable[np.ndarray], path: Path, num_rows: int, dim: int) -> int:
    """Fill a memory-mapped `.npy` of shape `(num_rows, dim)` chunk by chunk."""
    if num_rows == 0:
        with open(path, "wb") as handle:
            np.save(handle, np.zeros((0, dim), dtype=np.float32))
        return 0
    array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(num_rows, dim))
    row = 0
    for chunk in chunks:
        array[row : row + len(chunk)] = chunk
        row += len(chunk)
    array.flush()
    del array
    if row != num_rows:
        raise RuntimeError(f"Expected {num_rows} lines but embedded {row}; did the input change?")
    return row


def _write_jsonl(chunks: Iterable[Tuple[np.ndarray, Dict[int, str]]], path: Path) -> int:
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


# Export.


def _complete_model(transformer: PreTrainedModel) -> PreTrainedModel:
    """The encoder as `AutoModel` builds it, so that loading the export reports no missing
    weights. An encoder trained under a masked-LM head has no sentence pooler; the one added here
    keeps its (seeded) initial weights: `pooler_output` is untrained, and DeCLUTR does not use
    it. Any other difference in weights is an error."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        complete = AutoModel.from_config(copy.deepcopy(transformer.config))
    missing, unexpected = complete.load_state_dict(transformer.state_dict(), strict=False)
    missing = [key for key in missing if "pooler" not in key]
    if missing or unexpected:
        raise RuntimeError(
            f"Cannot export the encoder as {type(complete).__name__}: missing weights "
            f"{missing}, unexpected weights {unexpected}."
        )
    return complete.eval()


def _write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _write_sentence_transformers_files(output_dir: Path, dim: int, max_seq_length: int) -> None:
    """A Transformer module (in the root) followed by mean pooling, written as plain JSON."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": _ST_TRANSFORMER},
        {"idx": 1, "name": "1", "path": _POOLING_DIR, "type": _ST_POOLING},
    ]
    _write_json(output_dir / "modules.json", modules)
    # sentence-transformers truncates to max_seq_length tokens, special tokens included.
    _write_json(
        output_dir / "sentence_bert_config.json",
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )
    pooling = {"word_embedding_dimension": dim, **_MEAN_POOLING, "include_prompt": True}
    _write_json(output_dir / _POOLING_DIR / "config.json", pooling)
    _write_json(
        output_dir / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _front_matter(base_model: Optional[str]) -> str:
    lines = [
        "---",
        "library_name: sentence-transformers",
        "pipeline_tag: sentence-similarity",
        "tags: [declutr, sentence-transformers, feature-extraction, sentence-similarity]",
    ]
    # Only hub names belong in the hub's base_model field; local paths are in the card's text.
    if base_model and not Path(base_model).expanduser().exists() and base_model.count("/") <= 1:
        lines.append(f"base_model: {base_model}")
    return "\n".join(lines + ["---"])


_MODEL_CARD = """{front_matter}

# DeCLUTR sentence encoder

A sentence encoder trained with [DeCLUTR](https://aclanthology.org/2021.acl-long.72/) (contrastive
spans of {span_lengths} tokens plus masked language modelling), exported from `{source}`.

- Base model: `{base_model}`
- Training data: `{train_data_path}`
- Embedding: the mean of the last hidden states over the real tokens, as in training.
- Dimensions: {dim}.
- Maximum length: {max_length} subword tokens per text, {max_seq_length} with special tokens.
- The masked-LM head is not included. `pooler_output` comes from an untrained pooler: use mean
  pooling as below.

## Usage

```python
from declutr import Encoder

embeddings = Encoder("path/to/this/directory").encode(["A sentence.", "Another one."])
```

```python
from sentence_transformers import SentenceTransformer

embeddings = SentenceTransformer("path/to/this/directory").encode(["A sentence."])
```

sentence-transformers strips surrounding whitespace from each text first; DeCLUTR's predictor
does not, so texts with leading or trailing spaces can differ slightly.

```python
import torch
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("path/to/this/directory")
model = AutoModel.from_pretrained("path/to/this/directory").eval()
inputs = tokenizer(["A sentence."], truncation=True, max_length={max_seq_length},
                   padding=True, return_tensors="pt")
with torch.inference_mode():
    hidden = model(**inputs).last_hidden_state
mask = inputs["attention_mask"].unsqueeze(-1).float()
embeddings = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
```

## Training config

```json
{config}
```
"""
