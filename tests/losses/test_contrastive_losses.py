import math

import pytest
import torch

from declutr.losses import ContrastiveLoss, CrossBatchMemory, NTXent


def naive_nt_xent(anchors: torch.Tensor, positives: torch.Tensor, temperature: float) -> float:
    """NT-Xent by hand: each of the 2n embeddings against every other, its pair the target."""
    embeddings = torch.cat([anchors, positives])
    n = anchors.size(0)
    total = 0.0
    for i in range(2 * n):
        pair = (i + n) % (2 * n)
        cosines = [
            float(torch.nn.functional.cosine_similarity(embeddings[i], embeddings[k], dim=0))
            for k in range(2 * n)
        ]
        denominator = sum(math.exp(cosines[k] / temperature) for k in range(2 * n) if k != i)
        total += -math.log(math.exp(cosines[pair] / temperature) / denominator)
    return total / (2 * n)


def at_angles(degrees, dtype):
    radians = torch.tensor(degrees, dtype=dtype) * math.pi / 180
    return torch.stack([torch.cos(radians), torch.sin(radians)], dim=1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_nt_xent_equals_a_hand_computation(dtype, temperature):
    # Given 2-D embeddings at known angles: each positive 10-30 degrees from its anchor
    anchors = at_angles([0.0, 90.0, 200.0], dtype)
    positives = at_angles([10.0, 120.0, 185.0], dtype) * 3.0  # scale must not matter (cosine)
    # When the registered loss computes NT-Xent
    loss = NTXent(temperature=temperature)(anchors, positives)
    # Then it equals the naive loop
    expected = naive_nt_xent(anchors, positives, temperature)
    assert loss.dtype == dtype
    # float32 carries ~7 digits: a log-softmax over logits near 1 / 0.05 = 20 resolves steps of
    # about 2e-6, which a near-certain pair's loss (here ~3e-5) cannot go below
    tolerance = {"rel": 1e-4, "abs": 1e-5} if dtype == torch.float32 else {"rel": 1e-9}
    assert float(loss) == pytest.approx(expected, **tolerance)


@pytest.mark.parametrize("num_pairs", [1, 3, 17])
def test_nt_xent_equals_the_librarys_ntxentloss_with_its_gradients(num_pairs):
    # NTXent computes with SupConLoss (quadratic memory); it must equal NTXentLoss (cubic).
    from pytorch_metric_learning.losses import NTXentLoss

    torch.manual_seed(num_pairs)
    anchors = torch.randn(num_pairs, 16, dtype=torch.float64, requires_grad=True)
    positives = torch.randn(num_pairs, 16, dtype=torch.float64, requires_grad=True)
    ours = NTXent(temperature=0.05)(anchors, positives)
    our_grads = torch.autograd.grad(ours, [anchors, positives])
    labels = torch.arange(num_pairs).repeat(2)
    reference = NTXentLoss(temperature=0.05)(torch.cat([anchors, positives]), labels)
    reference_grads = torch.autograd.grad(reference, [anchors, positives])
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-12)
    for grad, expected in zip(our_grads, reference_grads):
        torch.testing.assert_close(grad, expected, rtol=1e-10, atol=1e-12)


def test_nt_xent_prefers_aligned_pairs():
    anchors = at_angles([0.0, 90.0], torch.float32)
    aligned = NTXent()(anchors, anchors.clone())
    swapped = NTXent()(anchors, anchors.flip(0))
    assert float(aligned) < float(swapped)


def test_default_contrastive_loss_is_nt_xent():
    loss = ContrastiveLoss.from_params(__import__("allennlp").common.Params({}))
    assert isinstance(loss, NTXent) and loss.temperature == 0.05


def test_cross_batch_memory_adds_earlier_batches_as_negatives():
    torch.manual_seed(0)
    first_anchors, first_positives = torch.randn(4, 8), torch.randn(4, 8)
    second_anchors, second_positives = torch.randn(4, 8), torch.randn(4, 8)
    memory = CrossBatchMemory(embedding_size=8, memory_size=64)
    # Given an empty memory, the first batch's loss is plain NT-Xent
    first = memory(first_anchors, first_positives)
    assert float(first) == pytest.approx(float(NTXent()(first_anchors, first_positives)), rel=1e-5)
    # When a second batch comes, the first batch's embeddings are extra negatives
    second = memory(second_anchors, second_positives)
    alone = NTXent()(second_anchors, second_positives)
    assert float(second) > float(alone)
    # And labels never collide across batches
    assert memory.pairs_seen == 8


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: NTXent(temperature=0), "temperature must be positive"),
        (lambda: CrossBatchMemory(8, memory_size=0), "memory_size must be at least 1"),
        (lambda: CrossBatchMemory(8, temperature=-1.0), "temperature must be positive"),
    ],
)
def test_invalid_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        NTXent()(torch.randn(3, 4), torch.randn(2, 4))


def test_half_precision_embeddings_get_a_float32_loss():
    torch.manual_seed(0)
    anchors, positives = torch.randn(6, 16), torch.randn(6, 16)
    expected = NTXent()(anchors, positives)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        loss = NTXent()(anchors.bfloat16(), positives.bfloat16())
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected, rtol=2e-2, atol=0)
