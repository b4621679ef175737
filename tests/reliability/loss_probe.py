"""A trainer callback for the resume test: it appends each optimizer step's losses, exactly (as
`float.hex`), with the process id, to `losses.jsonl` in the serialization directory.

Imported by `allennlp train` through `--include-package`; it only observes the real training.
"""

import json
import os
from pathlib import Path
from typing import Any, Dict, List

from allennlp.training.callbacks import TrainerCallback


@TrainerCallback.register("loss_probe")
class LossProbe(TrainerCallback):
    def on_batch(
        self,
        trainer,
        batch_inputs: List[Dict[str, Any]],
        batch_outputs: List[Dict[str, Any]],
        batch_metrics: Dict[str, Any],
        epoch: int,
        batch_number: int,
        is_training: bool,
        **kwargs,
    ) -> None:
        if not is_training:
            return
        (outputs,) = batch_outputs
        losses = {key: float(outputs[key].item()).hex() for key in outputs if "loss" in key}
        record = {"pid": os.getpid(), "epoch": epoch, "batch": batch_number, "losses": losses}
        with open(Path(self.serialization_dir) / "losses.jsonl", "a") as file:
            file.write(json.dumps(record) + "\n")
