"""The mean of a loss over the batches of every distributed worker."""

from typing import Optional

import torch
from allennlp.nn.util import dist_reduce_sum
from allennlp.training.metrics import Metric


class Mean(Metric):
    """The mean of the values passed since the last reset, over every distributed worker.

    Like allennlp's `Average`, every call is an all-reduce that all workers join; unlike it, a
    worker may join a call without a value (`None`): a worker whose validation data has run out
    takes part in the other workers' remaining steps with empty batches (see the
    "declutr_streaming" loader), which must not count.
    """

    supports_distributed = True

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._total = 0.0
        self._count = 0

    def __call__(self, value: Optional[torch.Tensor]) -> None:  # type: ignore[override]
        local = [0.0, 0.0] if value is None else [float(value.detach()), 1.0]
        total, count = dist_reduce_sum(torch.tensor(local, dtype=torch.float64)).tolist()
        self._total += total
        self._count += int(count)

    def get_metric(self, reset: bool = False) -> float:
        mean = self._total / self._count if self._count else 0.0
        if reset:
            self.reset()
        return mean
