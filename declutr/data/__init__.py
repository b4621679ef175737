from declutr.data.dataset_readers import DeCLUTRDatasetReader

__all__ = ["DeCLUTRDatasetReader"]
