"""A trainer callback for the uneven-shards test: it records, on every worker, the learning rate
of each optimizer step and how many anchors the contrastive loss receives, and saves the
parameters at the end of training.

Imported by allennlp's workers through `include_package`; it only observes the real training.
"""

from pathlib import Path
from typing import Any, List, Optional

import torch
import torch.distributed as dist
from allennlp.training.callbacks import TrainerCallback


@TrainerCallback.register("schedule_probe")
class ScheduleProbe(TrainerCallback):
    def __init__(self, serialization_dir: str) -> None:
        super().__init__(serialization_dir)
        self.learning_rates: List[List[float]] = []  # per step, per parameter group
        self.loss_rows: List[int] = []  # per step: anchors the loss sees (all ranks')
        self._hook: Optional[Any] = None

    def on_start(self, trainer, is_primary: bool = False, **kwargs) -> None:
        def record(module, inputs, output) -> None:
            self.loss_rows.append(inputs[0].shape[0])

        self._hook = trainer.model._loss.register_forward_hook(record)

    def on_batch(self, trainer, *args, is_training: bool = True, **kwargs) -> None:
        if is_training:
            # The scheduler sets the rate before the optimizer steps: this step's rate.
            self.learning_rates.append([group["lr"] for group in trainer.optimizer.param_groups])

    def on_end(self, trainer, *args, **kwargs) -> None:
        if self._hook is not None:
            self._hook.remove()
        rank = dist.get_rank() if dist.is_initialized() else 0
        record = {
            "learning_rates": self.learning_rates,
            "loss_rows": self.loss_rows,
            "parameters": {k: v.detach().clone() for k, v in trainer.model.state_dict().items()},
        }
        torch.save(record, Path(self.serialization_dir) / f"schedule-rank{rank}.pt")
