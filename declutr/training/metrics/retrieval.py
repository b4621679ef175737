"""How well anchors retrieve their own positives: the validation measure of embedding quality."""

from typing import Dict, List, Optional, Tuple

import torch
import torch.distributed as dist
from allennlp.training.metrics import Metric


@Metric.register("retrieval")
class RetrievalMetric(Metric):
    """Top-1 accuracy and mean reciprocal rank of retrieving each anchor's own positive among
    all the positives seen since the last reset, by cosine similarity.

    Registered as a `Metric` with name "retrieval".

    Every call adds pairs `(anchors[i], positives[i])`. The rank of pair `i` is the number of
    positives, its own included, at least as similar to anchor `i` as its own positive: a tie
    counts against the anchor, so an encoder that maps every span to one vector scores at chance
    (accuracy `1 / N` over `N` pairs) or below, never at 1. `get_metric` returns
    `retrieval_accuracy` (the share of rank 1) and `retrieval_mrr` (the mean of `1 / rank`)
    over all pairs, not averaged over batches, so the values depend on the set of pairs only,
    not on how it was batched or sharded.

    Ranks are updated as pairs arrive: new anchors against every positive so far, earlier
    anchors against the new positives. Reading the metric is then cheap (allennlp reads it after
    every batch for the progress bar), and the whole pass costs one `N x N` similarity matrix,
    computed in blocks. Under distributed training each call gathers the new positives of all
    workers (every worker calls the model in step, as allennlp's validation loop does), each
    worker ranks its own anchors against all positives, and `get_metric` sums the workers'
    counts: the result is that of one process holding every pair. Each worker keeps all `N`
    positives and its own anchors, `dim` floats each, on the tensors' device.

    The model ("declutr") feeds it during validation only.
    """

    supports_distributed = True

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._anchors: List[torch.Tensor] = []  # this worker's, unit length
        self._own: List[torch.Tensor] = []  # similarity of each anchor to its own positive
        self._ranks: List[torch.Tensor] = []  # positives at least as similar, so far
        self._positives: List[torch.Tensor] = []  # every worker's, unit length

    def __call__(  # type: ignore[override]
        self, anchors: torch.Tensor, positives: torch.Tensor
    ) -> None:
        """
        # Parameters

        anchors : `torch.Tensor`, shape `(num_pairs, dim)`
        positives : `torch.Tensor`, shape `(num_pairs, dim)`
            `positives[i]` is the positive of `anchors[i]`.
        """
        if anchors.dim() != 2 or anchors.shape != positives.shape:
            raise ValueError(
                "anchors and positives must both have shape (num_pairs, dim), got "
                f"{tuple(anchors.shape)} and {tuple(positives.shape)}."
            )
        anchors, positives = self.detach_tensors(anchors, positives)
        anchors = torch.nn.functional.normalize(anchors.float(), dim=-1)
        positives = torch.nn.functional.normalize(positives.float(), dim=-1)
        new_positives, offset = _gather(positives)
        # Earlier anchors against the new positives.
        for block, (earlier, own) in enumerate(zip(self._anchors, self._own)):
            self._ranks[block] += _at_least_as_similar(earlier, new_positives, own)
        # New anchors against every positive so far; the own positive is in the new block.
        similarities = anchors @ new_positives.T
        own = similarities[torch.arange(len(anchors)), offset + torch.arange(len(anchors))]
        ranks = (similarities >= own.unsqueeze(1)).sum(dim=1)
        for earlier in self._positives:
            ranks += _at_least_as_similar(anchors, earlier, own)
        self._anchors.append(anchors)
        self._own.append(own)
        self._ranks.append(ranks)
        self._positives.append(new_positives)

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        """`retrieval_accuracy` and `retrieval_mrr` over every pair since the last reset (of all
        workers); an empty dict before any pair, rather than a misleading zero."""
        device = self._ranks[0].device if self._ranks else None
        if self._ranks:
            ranks = torch.cat(self._ranks).double()
            totals = [(ranks == 1).sum(), ranks.reciprocal().sum(), float(len(ranks))]
        else:
            totals = [0.0, 0.0, 0.0]
        summed = torch.tensor([float(t) for t in totals], dtype=torch.float64, device=device)
        if dist.is_available() and dist.is_initialized():
            summed = _on_backend_device(summed)
            dist.all_reduce(summed)
        correct, reciprocal_ranks, count = summed.tolist()
        if reset:
            self.reset()
        if count == 0:
            return {}
        return {"retrieval_accuracy": correct / count, "retrieval_mrr": reciprocal_ranks / count}


def _at_least_as_similar(
    anchors: torch.Tensor, positives: torch.Tensor, own: torch.Tensor, block_size: int = 4096
) -> torch.Tensor:
    """For each anchor, how many of `positives` are at least as similar to it as `own`."""
    counts = torch.zeros(len(anchors), dtype=torch.long, device=anchors.device)
    for start in range(0, len(positives), block_size):
        # Shape: (num_anchors, block_size)
        similarities = anchors @ positives[start : start + block_size].T
        counts += (similarities >= own.unsqueeze(1)).sum(dim=1)
    return counts


def _gather(tensor: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """Every worker's `tensor` concatenated in rank order (rows may differ in number), and the
    row at which this worker's starts. Unchanged and 0 when not distributed."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor, 0
    world_size, rank = dist.get_world_size(), dist.get_rank()
    local = _on_backend_device(tensor)
    size = torch.tensor([len(local)], device=local.device)
    sizes = [torch.zeros_like(size) for _ in range(world_size)]
    dist.all_gather(sizes, size)
    counts = [int(s.item()) for s in sizes]
    padded = local.new_zeros((max(counts), *local.shape[1:]))
    padded[: len(local)] = local
    gathered = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(gathered, padded)
    pieces = [part[:count] for part, count in zip(gathered, counts)]
    return torch.cat(pieces).to(tensor.device), sum(counts[:rank])


def _on_backend_device(tensor: torch.Tensor, backend: Optional[str] = None) -> torch.Tensor:
    """NCCL communicates CUDA tensors only; gloo takes either."""
    backend = backend or dist.get_backend()
    if backend == "nccl" and not tensor.is_cuda:
        return tensor.cuda()
    return tensor
