from declutr.data.data_loaders.streaming import StreamingDataLoader

__all__ = ["StreamingDataLoader"]
