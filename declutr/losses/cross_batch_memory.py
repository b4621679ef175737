import torch
from pytorch_metric_learning.losses import CrossBatchMemory as PMLCrossBatchMemory
from pytorch_metric_learning.losses import NTXentLoss

from declutr.losses.contrastive_loss import ContrastiveLoss


@ContrastiveLoss.register("cross_batch_memory")
class CrossBatchMemory(ContrastiveLoss):
    """NT-Xent with a memory of the last `memory_size` embeddings as extra negatives, so the
    number of negatives no longer depends on the batch size.

    Registered as a `ContrastiveLoss` with name "cross_batch_memory". Wraps
    `pytorch_metric_learning.losses.CrossBatchMemory` around `NTXentLoss`. Labels are offset by a
    running count of pairs so that no pair of one batch shares a label with a remembered one.

    # Parameters

    embedding_size : `int`
        Dimension of the embeddings given to the loss (the pooler's or feedforward's output).
    memory_size : `int`, optional (default=`1024`)
        How many past embeddings are kept.
    temperature : `float`, optional (default=`0.05`)
        Softmax temperature of the wrapped NT-Xent.

    # Inputs

    anchors : `torch.Tensor`, shape `(n, embedding_size)`; positives : the same shape.

    # References

    Wang et al., 2020, "Cross-Batch Memory for Embedding Learning".
    """

    def __init__(self, embedding_size: int, memory_size: int = 1024, temperature: float = 0.05):
        if memory_size < 1:
            raise ValueError(f"memory_size must be at least 1, got {memory_size}.")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        super().__init__(
            PMLCrossBatchMemory(
                NTXentLoss(temperature=temperature),
                embedding_size=embedding_size,
                memory_size=memory_size,
            )
        )
        self.pairs_seen = 0

    def labels(self, num_pairs: int, device: torch.device) -> torch.Tensor:
        labels = super().labels(num_pairs, device) + self.pairs_seen
        self.pairs_seen += num_pairs
        return labels
