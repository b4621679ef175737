"""Validation of the "declutr" reader's constructor arguments (`max_length` included), as
configuration errors."""

from typing import Any, Optional

from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer

from declutr.data.span_sampling import SHORT_DOCUMENTS, validate_sampling_args
from declutr.data.texts import default_max_length, max_length_error, model_config


def check_tokenizer(tokenizer: Any) -> None:
    """The reader samples spans of subword tokens: it needs a "pretrained_transformer" one."""
    if not isinstance(tokenizer, PretrainedTransformerTokenizer):
        raise ConfigurationError(
            "The declutr reader samples spans of subword tokens and needs a "
            f'"pretrained_transformer" tokenizer, got {type(tokenizer).__name__}.'
        )


def check_short_documents(short_documents: str) -> None:
    if short_documents not in SHORT_DOCUMENTS:
        raise ConfigurationError(
            f"short_documents must be one of {SHORT_DOCUMENTS}, got {short_documents!r}."
        )


def check_sampling_args(
    num_anchors: Optional[int],
    num_positives: Optional[int],
    max_span_len: Optional[int],
    min_span_len: Optional[int],
    sampling_strategy: Optional[str],
) -> None:
    """Raise `ConfigurationError` unless the span sampling arguments are complete and valid."""
    if num_positives is None or max_span_len is None or min_span_len is None:
        raise ConfigurationError(
            "num_anchors is set, so num_positives, max_span_len and min_span_len are "
            f"required; got num_positives={num_positives}, max_span_len={max_span_len}, "
            f"min_span_len={min_span_len}."
        )
    try:
        validate_sampling_args(
            num_anchors, num_positives, max_span_len, min_span_len, sampling_strategy
        )
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def checked_max_length(max_length: Optional[int], tokenizer: Any) -> int:
    """`max_length`, or the model's default if `None`, after checking that it is at least 1 and
    that the model takes it (`declutr.data.texts.max_length_error`); `tokenizer` is the Hugging
    Face tokenizer, whose `name_or_path` names the model."""
    config = model_config(tokenizer.name_or_path)
    if max_length is None:
        return default_max_length(tokenizer, config)
    if max_length < 1:
        raise ConfigurationError(f"max_length must be at least 1, got {max_length}.")
    too_long = max_length_error(max_length, tokenizer, config, tokenizer.name_or_path)
    if too_long:
        raise ConfigurationError(too_long)
    return max_length
