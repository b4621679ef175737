"""The MLM embedder's one-pass masked-LM loss against the Hugging Face model's own loss."""

from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

from declutr.modules.masking import IGNORE_INDEX
from declutr.modules.token_embedders.pretrained_transformer_mlm import (
    PretrainedTransformerMLMEmbedder,
)


@pytest.fixture(scope="module")
def tiny_bert(tiny_model, tmp_path_factory) -> str:
    """A 2-layer BERT masked LM sharing the tiny RoBERTa's tokenizer (a different head module)."""
    path = Path(tmp_path_factory.mktemp("tiny-bert"))
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    BertForMaskedLM(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return str(path)


def _batch(embedder: PretrainedTransformerMLMEmbedder):
    torch.manual_seed(1)
    token_ids = torch.randint(5, embedder.vocab_size, (4, 12))
    mask = torch.ones_like(token_ids, dtype=torch.bool)
    mask[2, 7:] = False
    token_ids[~mask] = 1
    masked_ids, labels = embedder.mask_inputs(token_ids, mask, mlm_probability=0.3)
    return masked_ids, mask, labels


@pytest.mark.parametrize("model", ["tiny_model_no_dropout", "tiny_bert"])
def test_loss_on_labelled_positions_equals_the_full_model_loss(model, request):
    embedder = PretrainedTransformerMLMEmbedder(request.getfixturevalue(model)).eval()
    # Found the head, so only labelled positions are projected onto the vocabulary.
    assert embedder._lm_head is not None
    masked_ids, mask, labels = _batch(embedder)
    assert labels.ne(IGNORE_INDEX).sum() > 0

    hidden_states, loss_sum = embedder.masked_lm_loss_sum(masked_ids, mask, labels)
    reference = embedder.mlm_model(
        input_ids=masked_ids, attention_mask=mask, labels=labels, output_hidden_states=True
    )
    num_labelled = labels.ne(IGNORE_INDEX).sum()
    torch.testing.assert_close(loss_sum / num_labelled, reference.loss, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(hidden_states, reference.hidden_states[-1])

    # And the fallback (the full model's logits over every position) agrees.
    embedder._lm_head = None
    _, fallback_sum = embedder.masked_lm_loss_sum(masked_ids, mask, labels)
    torch.testing.assert_close(fallback_sum, loss_sum, rtol=1e-5, atol=1e-5)


def test_no_labelled_token_gives_zero_loss_with_a_gradient(tiny_model_no_dropout):
    embedder = PretrainedTransformerMLMEmbedder(tiny_model_no_dropout)
    masked_ids, mask, labels = _batch(embedder)
    labels.fill_(IGNORE_INDEX)
    _, loss_sum = embedder.masked_lm_loss_sum(masked_ids, mask, labels)
    assert loss_sum.item() == 0.0
    loss_sum.backward()
    # Connected to the graph: the head's parameters get a (zero) gradient
    head_grads = [p.grad for p in embedder._lm_head.parameters()]
    assert head_grads and all(g is not None and not g.any() for g in head_grads)
