"""A trainer callback for the distributed resume test: one rank sleeps after a given training
batch, before the checkpoint that follows it, as a rank on a slower machine or disk would.

Imported by allennlp's workers through `include_package`; it changes no computation.
"""

import time

import torch.distributed as dist
from allennlp.training.callbacks import TrainerCallback


@TrainerCallback.register("slow_rank")
class SlowRank(TrainerCallback):
    def __init__(self, serialization_dir: str, rank: int, batch: int, seconds: float) -> None:
        super().__init__(serialization_dir)
        self.rank, self.batch, self.seconds = rank, batch, seconds

    def on_batch(
        self, trainer, inputs, outputs, metrics, epoch, batch_number, is_training, **kwargs
    ) -> None:
        if is_training and batch_number == self.batch and dist.get_rank() == self.rank:
            time.sleep(self.seconds)
