"""What the reader, the predictor and `Encoder` accept as a text, how they tokenize it, and how a
long text is cut to the model's maximum, shared so that all treat the same input the same way.

- A text is any `str` that is valid Unicode: the empty string and whitespace-only strings
  included (they are embedded as given: an empty text is the special tokens alone). `None`,
  numbers, lists and strings with lone surrogates (which no tokenizer can encode) are invalid.
- A text longer than `max_tokens` subword tokens keeps its first `max_tokens` (the reader's
  truncation). Only a prefix of a long text is tokenized (see `leading_token_ids`), so a 10 MB
  line costs no more than a short document.
"""

from typing import Any, List, Optional, Sequence, Tuple

from transformers import AutoConfig

# Tokenizers without a known maximum length report a huge sentinel value instead; such
# tokenizers get `FALLBACK_MODEL_MAX_LENGTH` positions.
SENTINEL_MODEL_MAX_LENGTH = 100_000
FALLBACK_MODEL_MAX_LENGTH = 512
# Models whose position ids start at `pad_token_id + 1` (RoBERTa's
# `create_position_ids_from_input_ids`): the positions before it are never used.
POSITION_OFFSET_MODEL_TYPES = frozenset(
    {
        "camembert",
        "data2vec-text",
        "ibert",
        "longformer",
        "mpnet",
        "roberta",
        "roberta-prelayernorm",
        "xlm-roberta",
        "xlm-roberta-xl",
        "xmod",
    }
)
# A text of more than this many characters per kept token is tokenized by prefixes: the first
# prefix holds this many characters per token (English averages about four per token).
CHARACTERS_PER_TOKEN = 16


def invalid_text_reason(value: Any) -> Optional[str]:
    """Why `value` cannot be embedded (a phrase such as "is an int, not a string"), or `None`."""
    if value is None:
        return "is null, not a string"
    if not isinstance(value, str):
        return f"is {_a(type(value).__name__)}, not a string"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        return (
            f"holds a lone surrogate ({value[error.start]!r} at character {error.start}), "
            "which is not valid Unicode"
        )
    return None


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def leading_token_ids(
    tokenizer: Any, texts: Sequence[str], max_tokens: int
) -> List[Tuple[List[int], bool]]:
    """For each text, its first `max_tokens` subword ids (no special tokens) and whether it has
    more (was truncated), exactly as tokenizing the whole text and slicing would give.

    Texts of up to `CHARACTERS_PER_TOKEN * (max_tokens + 1)` characters are tokenized whole, in
    one call. A longer text is tokenized by prefixes of doubling length until two consecutive
    prefixes agree on their first `max_tokens + 1` ids (tokenizers act locally: only the last
    words of a prefix can tokenize differently from the whole text) or the prefix is the whole
    text; so the cost follows `max_tokens`, not the text's length.

    # Parameters

    tokenizer : `transformers.PreTrainedTokenizerBase`
        The model's Hugging Face tokenizer.
    texts : `Sequence[str]`
        Valid texts (see `invalid_text_reason`).
    max_tokens : `int`
        How many ids to keep.
    """
    limit = CHARACTERS_PER_TOKEN * (max_tokens + 1)
    short = [index for index, text in enumerate(texts) if len(text) <= limit]
    results: List[Tuple[List[int], bool]] = [([], False)] * len(texts)
    for index, ids in zip(short, token_ids(tokenizer, [texts[i] for i in short])):
        results[index] = (ids[:max_tokens], len(ids) > max_tokens)
    for index, text in enumerate(texts):
        if len(text) > limit:
            results[index] = _leading_token_ids_of_long_text(tokenizer, text, max_tokens, limit)
    return results


def _leading_token_ids_of_long_text(
    tokenizer: Any, text: str, max_tokens: int, limit: int
) -> Tuple[List[int], bool]:
    previous: Optional[List[int]] = None
    while limit < len(text):
        ids = token_ids(tokenizer, [text[:limit]])[0][: max_tokens + 1]
        if previous == ids and len(ids) > max_tokens:
            return ids[:max_tokens], True
        previous = ids
        limit *= 2
    ids = token_ids(tokenizer, [text])[0]
    return ids[:max_tokens], len(ids) > max_tokens


def default_max_length(tokenizer: Any, config: Any = None) -> int:
    """The default `max_length` of the reader and of `Encoder`: the tokenizer's maximum number of
    positions less its special tokens (512 positions when the tokenizer reports no maximum),
    within what the model takes (`max_length_limit`)."""
    model_max = tokenizer.model_max_length
    if model_max >= SENTINEL_MODEL_MAX_LENGTH:
        model_max = FALLBACK_MODEL_MAX_LENGTH
    num_special = tokenizer.num_special_tokens_to_add(pair=False)
    return min(model_max - num_special, max_length_limit(tokenizer, config)[0])


def max_length_limit(tokenizer: Any, config: Any = None) -> Tuple[int, str]:
    """The largest `max_length` (subword tokens per text, special tokens excluded) the model
    takes, and how it follows from the model: its position embeddings
    (`config.max_position_embeddings`), less the positions RoBERTa-style models never use
    (their position ids start after the padding index: `pad_token_id + 1`), less the special
    tokens. Without a config that has absolute positions, the tokenizer's `model_max_length`
    (512 if it reports none) takes their place. The one definition the reader, `Encoder` (and so
    the predictor, export and `declutr evaluate`) check `max_length` against."""
    num_special = tokenizer.num_special_tokens_to_add(pair=False)
    positions = getattr(config, "max_position_embeddings", None)
    if positions is None:
        positions = tokenizer.model_max_length
        if positions >= SENTINEL_MODEL_MAX_LENGTH:
            positions = FALLBACK_MODEL_MAX_LENGTH
        reasons = [f"the tokenizer's model_max_length {positions}"]
    else:
        reasons = [f"{positions} position embeddings"]
        pad_token_id = getattr(config, "pad_token_id", None)
        if config.model_type in POSITION_OFFSET_MODEL_TYPES and pad_token_id is not None:
            positions -= pad_token_id + 1
            reasons.append(f"{pad_token_id + 1} before the first position ({config.model_type})")
    reasons.append(f"{num_special} special tokens")
    return positions - num_special, " less ".join(reasons)


def max_length_error(max_length: int, tokenizer: Any, config: Any, model: str) -> Optional[str]:
    """Why `max_length` is too large for `model` (the message of the error to raise), or `None`
    if the model takes it. Too large a `max_length` is refused rather than clamped: the model
    would fail inside on any text that long."""
    limit, reason = max_length_limit(tokenizer, config)
    if max_length <= limit:
        return None
    return (
        f"max_length={max_length} is more than {model} takes: at most {limit} subword tokens per "
        f"text ({reason}). Set max_length to {limit} or less."
    )


def model_config(model: str) -> Any:
    """The Hugging Face config of `model` (a hub name or local directory), or `None` if it has
    none (a tokenizer alone)."""
    try:
        return AutoConfig.from_pretrained(model)
    except (OSError, ValueError):
        return None


def token_ids(tokenizer: Any, texts: List[str]) -> List[List[int]]:
    """The subword ids of each text, without special tokens, untruncated."""
    if not texts:
        return []
    # verbose=False: texts are expected to exceed the model's maximum length.
    return tokenizer(
        texts,
        add_special_tokens=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
    )["input_ids"]


def special_tokens_around(tokenizer: Any) -> Tuple[List[int], List[int]]:
    """The ids `tokenizer` puts before and after one text (`<s>` and `</s>` for RoBERTa), found as
    allennlp's tokenizer finds them: by tokenizing a probe with and without special tokens."""
    for probe in ("a", "1"):
        inner = token_ids(tokenizer, [probe])[0]
        whole = tokenizer(probe, return_attention_mask=False, return_token_type_ids=False)
        whole = whole["input_ids"]
        for start in range(len(whole) - len(inner) + 1):
            if inner and whole[start : start + len(inner)] == inner:
                return whole[:start], whole[start + len(inner) :]
    raise ValueError(
        f"Cannot tell which special tokens {type(tokenizer).__name__} adds around a text."
    )
