from declutr.training.checkpointers import DeCLUTRCheckpointer
from declutr.training.metrics import RetrievalMetric

__all__ = ["DeCLUTRCheckpointer", "RetrievalMetric"]
