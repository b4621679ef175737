import pytest
from allennlp.common import cached_transformers
from allennlp.data.tokenizers import PretrainedTransformerTokenizer

import declutr  # noqa: F401


def test_pretrained_transformer_tokenizer_builds_with_the_patch(tiny_model):
    # Given the patched cached_transformers.get_tokenizer (applied on `import declutr`)
    # When allennlp builds its tokenizer, which passes add_special_tokens=False to it
    tokenizer = PretrainedTransformerTokenizer(tiny_model)
    # Then it tokenizes with the model's special tokens around the text
    tokens = tokenizer.tokenize("the object")
    assert [t.text for t in tokens][0] == "<s>" and tokens[-1].text == "</s>"


def test_unpatched_get_tokenizer_fails_on_current_transformers(tiny_model):
    # Given the original function the patch wraps
    original = cached_transformers.get_tokenizer.__wrapped__
    # Then the call allennlp makes is refused by current tokenizers
    with pytest.raises(AttributeError, match="add_special_tokens conflicts"):
        original(tiny_model, add_special_tokens=False)


def test_patches_are_idempotent():
    patched = cached_transformers.get_tokenizer
    declutr.compat.apply_patches()
    assert cached_transformers.get_tokenizer is patched
