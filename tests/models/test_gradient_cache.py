import copy

import pytest
import torch
from allennlp.common import Params
from allennlp.data import Batch, Vocabulary
from allennlp.models import Model

from tests import DOCUMENTS, sampling_reader


def model_with(model_path: str, chunk_size, masked_language_modeling: bool, **extra) -> Model:
    params = Params(
        {
            "type": "declutr",
            "text_field_embedder": {
                "token_embedders": {
                    "tokens": {"type": "pretrained_transformer_mlm", "model_name": model_path}
                }
            },
            "loss": {"type": "nt_xent"},
            "masked_language_modeling": masked_language_modeling,
            "gradient_cache_chunk_size": chunk_size,
            **extra,
        }
    )
    return Model.from_params(vocab=Vocabulary.empty(), params=params)


@pytest.fixture(scope="module")
def batch(tiny_model_no_dropout):
    reader = sampling_reader(tiny_model_no_dropout, seed=2)
    instances = Batch(copy.deepcopy(list(reader.read(str(DOCUMENTS)))[:6]))
    instances.index_instances(Vocabulary.empty())
    return instances.as_tensor_dict()


def loss_and_gradients(model: Model, batch, seed: int = 0):
    torch.manual_seed(seed)  # the same masks in both runs
    model.train()
    loss = model(**batch)["loss"]
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss.item(), grads


@pytest.mark.parametrize("masked_language_modeling", [True, False], ids=["mlm", "no-mlm"])
@pytest.mark.parametrize("chunk_size", [1, 5])
def test_gradient_cache_gives_the_uncached_loss_and_gradients(
    tiny_model_no_dropout, batch, chunk_size, masked_language_modeling
):
    # Given the same model with and without gradient caching (12 anchors, 24 positives)
    plain = model_with(tiny_model_no_dropout, None, masked_language_modeling)
    cached = model_with(tiny_model_no_dropout, chunk_size, masked_language_modeling)
    # When each takes a training step's forward and backward on the same batch
    plain_loss, plain_grads = loss_and_gradients(plain, batch)
    cached_loss, cached_grads = loss_and_gradients(cached, batch)
    # Then loss and every gradient agree
    assert cached_loss == pytest.approx(plain_loss, rel=1e-5)
    assert plain_grads.keys() == cached_grads.keys() and len(plain_grads) > 10
    for name, grad in plain_grads.items():
        torch.testing.assert_close(cached_grads[name], grad, rtol=1e-5, atol=1e-5, msg=name)


def test_gradient_cache_chunk_size_is_validated(tiny_model_no_dropout):
    from allennlp.common.checks import ConfigurationError

    with pytest.raises(ConfigurationError, match="gradient_cache_chunk_size must be at least 1"):
        model_with(tiny_model_no_dropout, 0, True)


@pytest.mark.parametrize("masked_language_modeling", [True, False], ids=["mlm", "no-mlm"])
@pytest.mark.parametrize("length_groups, chunk_size", [(2, None), (5, None), (1, 4)])
def test_length_groups_give_the_same_loss_and_gradients_on_less_padding(
    tiny_model_no_dropout, batch, length_groups, chunk_size, masked_language_modeling
):
    # Given the model encoding a batch at once, and in groups of similar length
    plain = model_with(tiny_model_no_dropout, None, masked_language_modeling)
    grouped = model_with(
        tiny_model_no_dropout, chunk_size, masked_language_modeling, length_groups=length_groups
    )
    widths = []
    embedder = grouped._text_field_embedder._token_embedders["tokens"]
    embedder.mlm_model.base_model.embeddings.register_forward_pre_hook(
        lambda module, args, kwargs: widths.append(kwargs["input_ids"].size(1)), with_kwargs=True
    )
    # When each takes a training step's forward and backward on the same batch
    plain_loss, plain_grads = loss_and_gradients(plain, batch)
    grouped_loss, grouped_grads = loss_and_gradients(grouped, batch)
    # Then some groups were encoded with less padding than the batch
    full_width = batch["positives"]["tokens"]["token_ids"].size(-1)
    assert len(widths) > 2 and min(widths) < full_width
    # And loss and every gradient agree
    assert grouped_loss == pytest.approx(plain_loss, rel=1e-5)
    assert plain_grads.keys() == grouped_grads.keys()
    for name, grad in plain_grads.items():
        torch.testing.assert_close(grouped_grads[name], grad, rtol=1e-5, atol=1e-5, msg=name)
    # And so do the embeddings at prediction time
    plain.eval(), grouped.eval()
    with torch.no_grad():
        expected = plain(anchors=batch["anchors"])["embeddings"]
        torch.testing.assert_close(grouped(anchors=batch["anchors"])["embeddings"], expected)


def test_length_groups_is_validated(tiny_model_no_dropout):
    from allennlp.common.checks import ConfigurationError

    with pytest.raises(ConfigurationError, match="length_groups must be at least 1"):
        model_with(tiny_model_no_dropout, None, True, length_groups=0)
