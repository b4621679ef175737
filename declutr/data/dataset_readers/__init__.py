from declutr.data.dataset_readers.declutr import DeCLUTRDatasetReader

__all__ = ["DeCLUTRDatasetReader"]
