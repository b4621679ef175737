from declutr.training.metrics.retrieval import RetrievalMetric

__all__ = ["RetrievalMetric"]
