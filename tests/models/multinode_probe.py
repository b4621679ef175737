"""A trainer callback for the multi-node test: it records, on every worker, the anchor token ids
of each batch and the embeddings the contrastive loss receives (after the cross-worker gather).

Imported by allennlp's workers through `include_package`; it only observes the real training.
"""

from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
import torch.distributed as dist
from allennlp.training.callbacks import TrainerCallback


@TrainerCallback.register("multinode_probe")
class MultinodeProbe(TrainerCallback):
    def __init__(self, serialization_dir: str) -> None:
        super().__init__(serialization_dir)
        self.anchor_ids: List[List[List[int]]] = []  # per batch, per anchor: unpadded ids
        self.loss_inputs: List[torch.Tensor] = []  # per batch: the anchors the loss sees
        self._hook: Optional[Any] = None

    def on_start(self, trainer, is_primary: bool = False, **kwargs) -> None:
        def record(module, inputs, output) -> None:
            self.loss_inputs.append(inputs[0].detach().clone())

        self._hook = trainer.model._loss.register_forward_hook(record)

    def on_batch(self, trainer, batch_inputs: List[Dict[str, Any]], *args, **kwargs) -> None:
        for batch in batch_inputs:
            tokens = batch["anchors"]["tokens"]
            for ids, mask in zip(tokens["token_ids"], tokens["mask"]):
                # Shape of ids: (num_anchors, seq_len)
                self.anchor_ids.append([row[m].tolist() for row, m in zip(ids, mask)])

    def on_end(self, trainer, *args, **kwargs) -> None:
        if self._hook is not None:
            self._hook.remove()
        rank = dist.get_rank() if dist.is_initialized() else 0
        record = {"anchor_ids": self.anchor_ids, "loss_inputs": self.loss_inputs}
        torch.save(record, Path(self.serialization_dir) / f"probe-rank{rank}.pt")
