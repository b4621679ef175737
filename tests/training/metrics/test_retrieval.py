"""The retrieval metric against a naive loop, on batched, tied and distributed input."""

import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from declutr.training.metrics import RetrievalMetric
from tests.models.test_distributed import free_port


def naive_ranks(anchors: torch.Tensor, positives: torch.Tensor) -> list:
    """Rank of each anchor's own positive: 1 + the other positives at least as similar."""
    ranks = []
    for i, anchor in enumerate(anchors):
        own = torch.cosine_similarity(anchor, positives[i], dim=0)
        others = [
            torch.cosine_similarity(anchor, positive, dim=0)
            for j, positive in enumerate(positives)
            if j != i
        ]
        ranks.append(1 + sum(int(similarity >= own) for similarity in others))
    return ranks


def expected(anchors, positives) -> dict:
    ranks = naive_ranks(anchors, positives)
    return {
        "retrieval_accuracy": sum(rank == 1 for rank in ranks) / len(ranks),
        "retrieval_mrr": sum(1 / rank for rank in ranks) / len(ranks),
    }


def noisy_pairs(num_pairs: int, dim: int, noise: float, seed: int):
    generator = torch.Generator().manual_seed(seed)
    anchors = torch.randn(num_pairs, dim, generator=generator)
    positives = anchors + noise * torch.randn(num_pairs, dim, generator=generator)
    return anchors, positives


@pytest.mark.parametrize("batch_sizes", [[40], [1] * 40, [7, 13, 20], [16, 16, 8]])
def test_metric_equals_the_naive_loop_however_the_pairs_are_batched(batch_sizes):
    # Given 40 pairs whose positives are noisy copies: some anchors retrieve theirs, some do not
    anchors, positives = noisy_pairs(40, 8, noise=1.0, seed=0)
    reference = expected(anchors, positives)
    assert 0.2 < reference["retrieval_accuracy"] < 0.9  # neither trivial nor hopeless
    # When the metric sees them in batches
    metric = RetrievalMetric()
    start = 0
    for size in batch_sizes:
        metric(anchors[start : start + size], positives[start : start + size])
        start += size
    # Then it reports the naive loop's accuracy and MRR over all 40 pairs
    result = metric.get_metric(reset=True)
    assert result == pytest.approx(reference, abs=1e-9)
    # And reset empties it: no value at all rather than a zero
    assert metric.get_metric() == {}


def test_the_running_value_is_that_of_the_pairs_so_far():
    anchors, positives = noisy_pairs(30, 8, noise=1.0, seed=1)
    metric = RetrievalMetric()
    metric(anchors[:10], positives[:10])
    assert metric.get_metric() == pytest.approx(expected(anchors[:10], positives[:10]))
    metric(anchors[10:], positives[10:])
    assert metric.get_metric() == pytest.approx(expected(anchors, positives))


def test_a_collapsed_encoder_scores_at_chance_not_at_one():
    # Given every anchor and positive mapped to the same vector (all similarities tied)
    vectors = torch.ones(10, 4)
    metric = RetrievalMetric()
    metric(vectors, vectors)
    # Then ties count against the anchor: every own positive ranks last
    result = metric.get_metric(reset=True)
    assert result["retrieval_accuracy"] == 0.0
    assert result["retrieval_mrr"] == pytest.approx(1 / 10)


def test_perfect_pairs_score_one_and_scale_does_not_matter():
    anchors = torch.eye(6)
    metric = RetrievalMetric()
    metric(anchors * 3.0, anchors * 0.5)
    assert metric.get_metric(reset=True) == {"retrieval_accuracy": 1.0, "retrieval_mrr": 1.0}


@pytest.mark.parametrize(
    "anchors, positives", [(torch.ones(3, 4), torch.ones(2, 4)), (torch.ones(3), torch.ones(3))]
)
def test_shapes_are_validated(anchors, positives):
    with pytest.raises(ValueError, match=r"shape \(num_pairs, dim\), got"):
        RetrievalMetric()(anchors, positives)


def _worker(rank, port, pairs_file, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        anchors, positives = torch.load(pairs_file)
        # Uneven shards of uneven batches: rank 0 holds pairs 0-16, rank 1 pairs 17-39
        mine = slice(0, 17) if rank == 0 else slice(17, 40)
        anchors, positives = anchors[mine], positives[mine]
        sizes = [5, 12] if rank == 0 else [11, 12]
        metric, start = RetrievalMetric(), 0
        for size in sizes:
            metric(anchors[start : start + size], positives[start : start + size])
            start += size
        torch.save(metric.get_metric(reset=True), Path(out_dir) / f"{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_workers_report_the_metric_of_all_pairs_together(tmp_path):
    # Given 40 pairs split unevenly between two gloo workers
    anchors, positives = noisy_pairs(40, 8, noise=1.0, seed=2)
    torch.save((anchors, positives), tmp_path / "pairs.pt")
    # When each worker feeds its own pairs and reads the metric
    mp.start_processes(
        _worker,
        args=(free_port(), tmp_path / "pairs.pt", tmp_path),
        nprocs=2,
        start_method="fork",
    )
    # Then both report the value of one process holding all 40 pairs
    reference = expected(anchors, positives)
    for rank in range(2):
        assert torch.load(tmp_path / f"{rank}.pt") == pytest.approx(reference, abs=1e-9)
