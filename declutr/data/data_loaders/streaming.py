import itertools
import logging
import math
import time
from typing import Iterator, Optional

import torch.distributed as dist
from allennlp.common.util import is_distributed, is_global_primary
from allennlp.data.data_loaders import DataLoader, MultiProcessDataLoader, TensorDict
from allennlp.nn.util import dist_reduce

from declutr.data.dataset_readers import DeCLUTRDatasetReader

logger = logging.getLogger(__name__)


@DataLoader.register("declutr_streaming")
class StreamingDataLoader(MultiProcessDataLoader):
    """allennlp's `multiprocess` data loader, streaming, that still knows its length, and gives
    every distributed rank the same number of batches.

    Registered as a `DataLoader` with name "declutr_streaming".

    With `max_instances_in_memory` set, allennlp's loader streams but cannot say how many batches
    an epoch has, so learning-rate schedules such as `slanted_triangular` run without their
    length and progress bars without a total. This loader counts the documents long enough to
    sample from (in this worker's distributed shard) with one tokenizing pass over the file the
    first time its length is asked for, without keeping any of them (a progress bar, on the
    primary rank, shows the documents counted per second; at the end the loader logs the
    `batches_per_epoch` that would skip the pass, about 8 minutes per million documents). It
    also tells the reader which epoch it reads (`set_epoch`), so every epoch samples new spans,
    reproducibly.

    Under distributed training, shards hold different numbers of long-enough documents. The
    ranks agree on the length of an epoch: the largest rank's number of batches (an all-reduce,
    once). A rank whose shard runs out first reads it again (new spans of its own documents)
    until it has given that many batches. So every rank builds the same learning-rate schedule
    and takes the same optimizer steps, every step gathers every rank's spans as negatives, no
    rank waits on another, and no document of any shard is dropped; the cost is a few repeated
    documents on the smaller shards. A rank whose shard holds no usable document fails with an
    error (it would have nothing to contribute); when no rank has a batch, every rank fails
    before training, with the reader's error naming the file and the minimum document length
    (as one process fails), instead of training 0 steps. With `batches_per_epoch` set,
    allennlp's own count applies (the same on every rank). Deterministic (validation) reads are
    not repeated: a rank whose shard runs out first gives empty batches (no instance, which the
    "declutr" model counts in no loss or metric) until every rank's has, so that validation
    covers every pair of every shard (allennlp's loop would stop every rank when the first runs
    out). A rank whose validation shard gives no batch at all, while others do, fails.

    The reader must be the "declutr" reader (except with `batches_per_epoch` set, or without
    `max_instances_in_memory`).

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
        epoch = self._epoch
        self._epoch += 1
        if self._equalizes_ranks():
            return self._exactly(len(self), epoch)
        self._set_reader_epoch(epoch, repeat=0)
        if is_distributed() and self.batches_per_epoch is None:  # deterministic reads
            return self._padded(super().__iter__())
        return super().__iter__()

    def _set_reader_epoch(self, epoch: int, repeat: int) -> None:
        if isinstance(self.reader, DeCLUTRDatasetReader):
            # Set here, in the main process: data-loader workers only get copies of the reader.
            self.reader.set_epoch(epoch, deterministic=self._deterministic, repeat=repeat)

    def _equalizes_ranks(self) -> bool:
        """Whether the ranks agree on the number of batches: in distributed training, unless
        allennlp's `batches_per_epoch` does, or the reads are deterministic (validation, whose
        length only the primary asks for)."""
        if self.batches_per_epoch is not None or not is_distributed():
            return False
        if self._deterministic is not None:
            return not self._deterministic
        return not (isinstance(self.reader, DeCLUTRDatasetReader) and self.reader.deterministic)

    def _exactly(self, num_batches: int, epoch: int) -> Iterator[TensorDict]:
        """`num_batches` batches of epoch `epoch`: this shard's, then batches of further passes
        over it (new spans) if it runs out first."""
        given = 0
        for repeat in itertools.count():
            if given == num_batches:
                return
            self._set_reader_epoch(epoch, repeat)
            given_before = given
            for batch in super().__iter__():
                yield batch
                given += 1
                if given == num_batches:
                    return
            if given == given_before:
                raise ValueError(
                    f"This rank's shard of {self.data_path} gives no batch, while the other "
                    f"ranks give {num_batches}: every rank must contribute to every step. Use "
                    "more documents (long enough to sample from) or fewer distributed workers."
                )
            logger.info(
                "%s: this rank's shard ran out after %d of %d batches; reading it again "
                "(repeat %d) so that every rank takes the same steps.",
                self.data_path,
                given,
                num_batches,
                repeat + 1,
            )

    def _padded(self, batches: Iterator[TensorDict]) -> Iterator[TensorDict]:
        """`batches`, then empty batches (no instance) until every rank has run out: all ranks
        take the same validation steps, so that the model sees every rank's pairs (allennlp's
        loop stops every rank when the first runs out). Every step, the ranks tell each other
        whether they still have a batch (an all-reduce)."""
        empty: Optional[TensorDict] = None
        while True:
            batch = next(batches, None)
            if int(dist_reduce(int(batch is not None), dist.ReduceOp.SUM)) == 0:
                return
            if batch is not None:
                empty = empty or _without_instances(batch)
                yield batch
            elif empty is None:
                raise ValueError(
                    f"This rank's shard of {self.data_path} gives no batch, while other ranks "
                    "do: every rank must take part in every validation step. Use more "
                    "documents (long enough to sample from) or fewer distributed workers."
                )
            else:
                yield empty

    def __len__(self) -> int:
        if self.batches_per_epoch is not None:
            return self.batches_per_epoch
        if self._num_batches is None:
            started = time.monotonic()
            num_batches = self._count_batches()
            counted = f"{num_batches} batches per epoch"
            if self._equalizes_ranks():
                # Every rank asks (allennlp builds the schedule and the epoch loop on each).
                agreed = int(dist_reduce(num_batches, dist.ReduceOp.MAX))
                counted = f"{num_batches} batches in this shard, {agreed} per epoch on every rank"
                num_batches = agreed
                if num_batches == 0:
                    self._fail_without_batches()
            self._num_batches = num_batches
            if self.max_instances_in_memory is not None:
                logger.info(
                    "%s: %s, counted in %.0f s. To skip this counting pass, set "
                    '"batches_per_epoch": %d in this data loader (data_loader, or '
                    "validation_data_loader).",
                    self.data_path,
                    counted,
                    time.monotonic() - started,
                    num_batches,
                )
        return self._num_batches

    def _fail_without_batches(self) -> None:
        """No rank has a batch: fail, as one process does, instead of training 0 steps."""
        if isinstance(self.reader, DeCLUTRDatasetReader) and self.reader.sample_spans:
            error = self.reader.nothing_long_enough_error(self.data_path)  # type: ignore[arg-type]
            if error is not None:
                raise error
        raise ValueError(
            f"{self.data_path} gives no batch on any of the {dist.get_world_size()} distributed "
            f"ranks (batch_size {self.batch_size}, drop_last {self.drop_last}): training would "
            "take no step. Use more documents (long enough to sample from)."
        )

    def _count_batches(self) -> int:
        """This rank's batches per epoch (with a progress bar on the primary rank)."""
        if self.max_instances_in_memory is None:
            return super().__len__()
        if not isinstance(self.reader, DeCLUTRDatasetReader) or self.batch_sampler is not None:
            raise TypeError("declutr_streaming counts batches of the declutr reader only")
        assert self.batch_size is not None
        # Each data-loader worker batches its own instances.
        counts = self.reader.count_instances_per_worker(
            self.data_path,  # type: ignore[arg-type]
            num_workers=max(self.num_workers, 1),
            progress=is_global_primary(),
        )
        rounding = math.floor if self.drop_last else math.ceil
        num_batches = sum(int(rounding(count / self.batch_size)) for count in counts)
        logger.info("%s: %d instances in this shard", self.data_path, sum(counts))
        return num_batches


def _without_instances(batch: TensorDict) -> TensorDict:
    """`batch` cut to none of its instances: the same keys, tensors of 0 rows."""
    return {
        key: _without_instances(value) if isinstance(value, dict) else value[:0]
        for key, value in batch.items()
    }
