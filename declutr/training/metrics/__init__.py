from declutr.training.metrics.mean import Mean
from declutr.training.metrics.retrieval import RetrievalMetric

__all__ = ["Mean", "RetrievalMetric"]
