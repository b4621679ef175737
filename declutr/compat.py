"""Compatibility patches for allennlp 2.10.1 (archived) on current torch and transformers.

Every patch is applied once, on `import declutr`, names the upstream break it mends, and has a
test in `tests/test_compat.py` that fails without it.
"""

import functools
from typing import Any

from allennlp.common import cached_transformers

_PATCHED_MARK = "_declutr_patched"


def _drop_add_special_tokens_kwarg() -> None:
    """`PretrainedTransformerTokenizer.__init__` calls
    `cached_transformers.get_tokenizer(name, add_special_tokens=False, ...)`, and that keyword
    reaches `AutoTokenizer.from_pretrained`. Since transformers 4.3x, tokenizers refuse it
    ("add_special_tokens conflicts with the method add_special_tokens"). It was never a
    constructor option (allennlp passes it per call when encoding), so it is dropped here.
    """
    original = cached_transformers.get_tokenizer
    if getattr(original, _PATCHED_MARK, False):
        return

    @functools.wraps(original)
    def get_tokenizer(model_name: str, **kwargs: Any) -> Any:
        kwargs.pop("add_special_tokens", None)
        return original(model_name, **kwargs)

    setattr(get_tokenizer, _PATCHED_MARK, True)
    cached_transformers.get_tokenizer = get_tokenizer


def apply_patches() -> None:
    """Apply every patch (idempotent)."""
    _drop_add_special_tokens_kwarg()
