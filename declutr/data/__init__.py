"""Documents, spans and corpora: the "declutr" dataset reader and the "declutr_streaming" data
loader (registered when their modules are imported), span sampling and corpus preparation."""

from declutr.lazy import lazy_attributes

__getattr__ = lazy_attributes(
    __name__,
    {
        "DeCLUTRDatasetReader": "declutr.data.dataset_readers",
        "StreamingDataLoader": "declutr.data.data_loaders",
    },
)
__all__ = ["DeCLUTRDatasetReader", "StreamingDataLoader"]
