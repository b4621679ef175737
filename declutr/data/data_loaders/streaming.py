import logging
import math
from typing import Iterator, Optional

from allennlp.data.data_loaders import DataLoader, MultiProcessDataLoader, TensorDict

from declutr.data.dataset_readers import DeCLUTRDatasetReader

logger = logging.getLogger(__name__)


@DataLoader.register("declutr_streaming")
class StreamingDataLoader(MultiProcessDataLoader):
    """allennlp's `multiprocess` data loader, streaming, that still knows its length.

    Registered as a `DataLoader` with name "declutr_streaming".

    With `max_instances_in_memory` set, allennlp's loader streams but cannot say how many batches
    an epoch has, so learning-rate schedules such as `slanted_triangular` run without their
    length and progress bars without a total. This loader counts the documents long enough to
    sample from (in this worker's distributed shard) with one tokenizing pass over the file the
    first time its length is asked for, without keeping any of them. It also tells the reader
    which epoch it reads (`set_epoch`), so every epoch samples new spans, reproducibly.
    The reader must be the "declutr" reader.

    # Parameters

    deterministic : `bool`, optional (default=`None`)
        `True` for a validation loader: its reads are deterministic (see the reader's
        `deterministic`), the same spans every epoch, even with the training reader. `None`
        keeps the reader's own setting.
    *args, **kwargs
        `MultiProcessDataLoader`'s parameters.
    """

    def __init__(self, *args, deterministic: Optional[bool] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._num_batches: Optional[int] = None
        self._epoch = 0
        self._deterministic = deterministic

    def __iter__(self) -> Iterator[TensorDict]:
        if isinstance(self.reader, DeCLUTRDatasetReader):
            # Set here, in the main process: data-loader workers only get copies of the reader.
            self.reader.set_epoch(self._epoch, deterministic=self._deterministic)
            self._epoch += 1
        return super().__iter__()

    def __len__(self) -> int:
        if self.batches_per_epoch is not None or self.max_instances_in_memory is None:
            return super().__len__()
        if not isinstance(self.reader, DeCLUTRDatasetReader) or self.batch_sampler is not None:
            raise TypeError("declutr_streaming counts batches of the declutr reader only")
        if self._num_batches is None:
            num_instances = self.reader.count_instances(self.data_path)  # type: ignore[arg-type]
            assert self.batch_size is not None
            rounding = math.floor if self.drop_last else math.ceil
            self._num_batches = int(rounding(num_instances / self.batch_size))
            logger.info(
                "%s: %d instances, %d batches per epoch",
                self.data_path,
                num_instances,
                self._num_batches,
            )
        return self._num_batches
