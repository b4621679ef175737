from pytorch_metric_learning.losses import SupConLoss

from declutr.losses.contrastive_loss import ContrastiveLoss


@ContrastiveLoss.register("nt_xent")
class NTXent(ContrastiveLoss):
    """The normalized temperature-scaled cross-entropy loss (NT-Xent, also called InfoNCE), as
    used by DeCLUTR: for each of the `2n` embeddings, a softmax over cosine similarities / `T`
    to every other embedding, with its pair as the target.

    Registered as a `ContrastiveLoss` with name "nt_xent". Computed by
    `pytorch_metric_learning.losses.SupConLoss`, which with exactly one positive per embedding
    (as here) is the same function as the library's `NTXentLoss` (tested to 1e-12 in float64,
    gradients included) but works on the `2n x 2n` similarity matrix: `NTXentLoss` builds a
    `2n x 2n(2n - 2)` matrix, cubic in the batch (4 GiB per copy at 512 pairs), too large for
    the contrastive batches that gradient caching makes possible.

    # Parameters

    temperature : `float`, optional (default=`0.05`)
        Softmax temperature `T` (DeCLUTR 0.05; SimCLR 0.5; MoCo 0.07). Lower is sharper.

    # Inputs

    anchors : `torch.Tensor`, shape `(n, d)`; positives : `torch.Tensor`, shape `(n, d)`.

    # Relations

    `cross_batch_memory` wraps the same loss with a queue of earlier batches' embeddings.

    # References

    Chen et al., 2020, "A Simple Framework for Contrastive Learning of Visual Representations";
    Giorgi et al., 2021, "DeCLUTR: Deep Contrastive Learning for Unsupervised Textual
    Representations".

    # Example

    ```python
    loss = NTXent(temperature=0.05)
    value = loss(torch.randn(8, 32), torch.randn(8, 32))
    ```
    """

    def __init__(self, temperature: float = 0.05) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        super().__init__(SupConLoss(temperature=temperature))
        self.temperature = temperature
