from declutr.training.metrics import RetrievalMetric

__all__ = ["RetrievalMetric"]
