from declutr.data.data_loaders import StreamingDataLoader
from declutr.data.dataset_readers import DeCLUTRDatasetReader

__all__ = ["DeCLUTRDatasetReader", "StreamingDataLoader"]
