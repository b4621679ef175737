from declutr.losses.contrastive_loss import ContrastiveLoss
from declutr.losses.cross_batch_memory import CrossBatchMemory
from declutr.losses.nt_xent import NTXent

__all__ = ["ContrastiveLoss", "CrossBatchMemory", "NTXent"]
