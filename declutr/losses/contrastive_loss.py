import torch
from allennlp.common import Registrable


class ContrastiveLoss(torch.nn.Module, Registrable):
    """A contrastive loss over anchor and positive embeddings, backed by
    [pytorch-metric-learning](https://kevinmusgrave.github.io/pytorch-metric-learning/).

    Anchor `i` and positive `i` share label `i`; every other embedding of the batch is a negative.
    Subclasses build the library loss; this base class builds the labels and calls it.

    # Inputs

    anchors : `torch.Tensor`, shape `(num_pairs, embedding_dim)`
    positives : `torch.Tensor`, shape `(num_pairs, embedding_dim)`

    Returns a scalar loss.
    """

    default_implementation = "nt_xent"

    def __init__(self, loss: torch.nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def labels(self, num_pairs: int, device: torch.device) -> torch.Tensor:
        """Labels of the concatenated `[anchors; positives]`: `0..n-1` twice."""
        pair_ids = torch.arange(num_pairs, device=device)
        return torch.cat([pair_ids, pair_ids])

    def forward(self, anchors: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
        if anchors.shape != positives.shape:
            raise ValueError(
                f"anchors {tuple(anchors.shape)} and positives {tuple(positives.shape)} must have "
                "the same shape (num_pairs, embedding_dim)."
            )
        embeddings = torch.cat([anchors, positives])
        # Similarities / temperature reach 1 / 0.05 = 20, where float16 steps by 0.016: compute
        # the loss in float32 even under AMP.
        if embeddings.dtype in (torch.float16, torch.bfloat16):
            embeddings = embeddings.float()
        with torch.autocast(device_type=embeddings.device.type, enabled=False):
            return self.loss(embeddings, self.labels(anchors.size(0), anchors.device))
