"""Load what `Encoder` needs from any kind of model source: an AllenNLP archive or serialization
directory of a "declutr" model, a directory written by `declutr export` (or `save_pretrained`),
or a Hugging Face encoder (local directory or hub name).

allennlp is imported only to load an archive: a Hugging Face or exported model loads with
transformers alone.
"""

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedModel
from transformers.utils import cached_file

logger = logging.getLogger(__name__)

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
# sentence-transformers' module types, and the pooling settings of masked mean pooling.
ST_TRANSFORMER = "sentence_transformers.models.Transformer"
ST_POOLING = "sentence_transformers.models.Pooling"
MEAN_POOLING = {
    "pooling_mode_cls_token": False,
    "pooling_mode_mean_tokens": True,
    "pooling_mode_max_tokens": False,
    "pooling_mode_mean_sqrt_len_tokens": False,
    "pooling_mode_weightedmean_tokens": False,
    "pooling_mode_lasttoken": False,
}
HOW_TO = (
    "Pass an AllenNLP archive (model.tar.gz) or serialization directory trained with declutr, a "
    "directory written by `declutr export`, or a Hugging Face model (local directory or name)."
)


@dataclass
class Loaded:
    """What every kind of `model` source provides."""

    transformer: PreTrainedModel
    tokenizer: Any
    max_length: Optional[int]
    base_model: Optional[str] = None
    training_config: Optional[Dict[str, Any]] = None


def load(source: str) -> Loaded:
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
                f"serialization directory nor a Hugging Face model. {HOW_TO}"
            )
        return _load_hugging_face(str(path))
    if source.startswith(("http://", "https://", "s3://", "gs://")):
        return _load_archive(source)
    if source.endswith(ARCHIVE_SUFFIXES) or path.is_absolute() or source.startswith((".", "~")):
        raise FileNotFoundError(f"No file or directory {source}. {HOW_TO}")
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


def _load_archive(source: str) -> Loaded:
    """The transformer, tokenizer and maximum length of a trained "declutr" model."""
    from allennlp.common import Params
    from allennlp.data.tokenizers import Tokenizer

    import declutr
    from declutr.compat.archives import ArchiveError, load_archive_safely

    declutr.register()  # the archive's config names declutr's registered components
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
    reader = reader_config(config)
    tokenizer = Tokenizer.from_params(Params(dict(reader["tokenizer"]))).tokenizer
    return Loaded(
        transformer=_archived_transformer(archive.model, model_config, source),
        tokenizer=tokenizer,
        max_length=reader.get("max_length"),
        base_model=reader["tokenizer"].get("model_name"),
        training_config=config,
    )


def reader_config(config: Dict[str, Any]) -> Dict[str, Any]:
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


def transformer_of(model: torch.nn.Module) -> PreTrainedModel:
    """The Hugging Face encoder of a "declutr" model already loaded (the predictor's)."""
    return _archived_transformer(model, {}, "the predictor's model")


def _archived_transformer(
    model: torch.nn.Module, model_config: Dict[str, Any], source: str
) -> PreTrainedModel:
    """The Hugging Face encoder inside the model's only token embedder (never an MLM head)."""
    from allennlp.modules.token_embedders import PretrainedTransformerEmbedder, TokenEmbedder

    from declutr.modules.token_embedders import PretrainedTransformerMLMEmbedder

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


def _load_hugging_face(source: str) -> Loaded:
    """A Hugging Face encoder, possibly with sentence-transformers files (an exported model)."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        transformer = AutoModel.from_pretrained(source)
    except (OSError, ValueError) as error:
        raise OSError(
            f"Cannot load {source} as a Hugging Face model (local directory or hub name): "
            f"{error}. {HOW_TO}"
        ) from error
    max_seq_length = _sentence_transformers_max_seq_length(source)
    num_special = tokenizer.num_special_tokens_to_add(pair=False)
    return Loaded(
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
        if module.get("type") == ST_POOLING:
            pooling = _optional_json(source, f"{module['path']}/config.json") or {}
            modes = {key: pooling.get(key, False) for key in MEAN_POOLING}
            if modes != MEAN_POOLING:
                raise ValueError(
                    f"{source} is a sentence-transformers model that does not pool by the mean "
                    f"alone ({modes}); Encoder computes mean pooling only."
                )
    settings = _optional_json(source, "sentence_bert_config.json") or {}
    return settings.get("max_seq_length")
