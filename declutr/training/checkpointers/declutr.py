import contextlib
import glob
import logging
import os
import random
import re
import time
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch
import torch.distributed as dist
from allennlp.common.util import is_distributed
from allennlp.training.checkpointer import Checkpointer, TrainerCheckpoint

logger = logging.getLogger(__name__)

_RANDOM_STATES_FILE = re.compile(r"random_states_e(\d+)_b(\d+)_w\d+\.th$")


@Checkpointer.register("declutr")
class DeCLUTRCheckpointer(Checkpointer):
    """allennlp's checkpointer, saving and restoring the random states as well, so that a run
    resumed with `--recover` draws the same dropout masks and masked-LM positions as a run that
    was never interrupted.

    Registered as a `Checkpointer` with name "declutr".

    allennlp 2.10 checkpoints the model, optimizer, scheduler and callbacks, but not the random
    states: after a restart, every draw from Python's `random`, numpy's global generator and
    torch's generators (CPU, and CUDA where it is in use) follows the seeds of the config instead
    of the interrupted run. With this checkpointer, every checkpoint also writes, on every
    distributed rank, `random_states_e{epochs}_b{batches}_w{rank}.th` (before allennlp's files,
    so that a checkpoint that counts always has them; atomically: under distributed training the
    primary writes its files only once every rank has written its random states), and
    `--recover` restores the rank's states along with the checkpoint. allennlp then replays the
    data of the epoch up to the checkpoint without training on it; the "declutr" reader's
    sampling does not draw from the global generators (its generators derive from the seed,
    epoch, rank and worker), so the resumed run continues exactly where the checkpoint was
    taken. A data loader that does draw
    from them while it replays (allennlp's `shuffle: true` draws from Python's `random`) makes
    the resume inexact. A checkpoint without random states (written by allennlp's own
    checkpointer) is resumed from with a warning.

    # Parameters

    serialization_dir : `str`
    save_completed_epochs : `bool`, optional (default=`True`)
    save_every_num_seconds : `float`, optional (default=`None`)
    save_every_num_batches : `int`, optional (default=`None`)
    keep_most_recent_by_count : `int`, optional (default=`2`)
    keep_most_recent_by_age : `int`, optional (default=`None`)
        All as allennlp's `Checkpointer` (the "default" one).
    """

    def __init__(
        self,
        serialization_dir: str,
        save_completed_epochs: bool = True,
        save_every_num_seconds: Optional[float] = None,
        save_every_num_batches: Optional[int] = None,
        keep_most_recent_by_count: Optional[int] = 2,
        keep_most_recent_by_age: Optional[int] = None,
    ) -> None:
        super().__init__(
            serialization_dir,
            save_completed_epochs=save_completed_epochs,
            save_every_num_seconds=save_every_num_seconds,
            save_every_num_batches=save_every_num_batches,
            keep_most_recent_by_count=keep_most_recent_by_count,
            keep_most_recent_by_age=keep_most_recent_by_age,
        )
        self._point_in_time: Optional[Tuple[int, int]] = None

    def _random_states_path(
        self, epochs_completed: Union[int, str], batches_in_epoch_completed: Union[int, str]
    ) -> str:
        """This rank's random states at a checkpoint (or a glob pattern, given "*")."""
        rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        name = f"random_states_e{epochs_completed}_b{batches_in_epoch_completed}_w{rank}.th"
        return os.path.join(self._serialization_dir, name)

    def maybe_save_checkpoint(
        self, trainer: Any, num_epochs_completed: int, num_batches_in_epoch_completed: int
    ) -> bool:
        # The trainer tells where in training it is here only; `save_checkpoint` names the file.
        self._point_in_time = (num_epochs_completed, num_batches_in_epoch_completed)
        try:
            return super().maybe_save_checkpoint(
                trainer, num_epochs_completed, num_batches_in_epoch_completed
            )
        finally:
            self._point_in_time = None

    def save_checkpoint(self, trainer: Any) -> None:
        if self._serialization_dir is None or self._point_in_time is None:
            super().save_checkpoint(trainer)
            return
        path = self._random_states_path(*self._point_in_time)
        temporary = f"{path}.partial"
        torch.save(get_random_states(), temporary)
        os.replace(temporary, path)
        if is_distributed():
            # Every rank saves at the same steps. The primary's training state makes the
            # checkpoint count: it waits until every rank's random states are written, or a
            # run killed in between would resume the slower ranks with the config's seeds.
            dist.barrier()
        super().save_checkpoint(trainer)
        # allennlp records the last save on the primary only (the other ranks return early), so
        # the others would save again at every later batch: every rank on the same schedule.
        self._last_save_time = time.time()
        epochs, batches = self._point_in_time
        self._last_save_num_epochs_completed = epochs
        self._last_save_num_batches_in_epoch_completed = batches
        self._remove_orphaned_random_states(keep=path)

    def _remove_orphaned_random_states(self, keep: str) -> None:
        """Remove this rank's random states whose checkpoint is gone. The primary removes old
        checkpoints; on the other nodes of a multi-node run, which write no checkpoint, only the
        latest random states stay."""
        for path in glob.glob(self._random_states_path("*", "*")):
            point_in_time = _RANDOM_STATES_FILE.search(path)
            assert point_in_time is not None
            epochs, batches = map(int, point_in_time.groups())
            if path != keep and not os.path.isfile(self._training_state_path(epochs, batches)):
                with contextlib.suppress(FileNotFoundError):  # the primary may remove it too
                    os.remove(path)

    def load_checkpoint(self) -> Optional[TrainerCheckpoint]:
        latest = self.find_latest_checkpoint()
        checkpoint = super().load_checkpoint()
        if checkpoint is None or latest is None:
            return checkpoint
        point_in_time = self._parse_model_state_path(latest[0])
        assert point_in_time is not None
        path = self._random_states_path(*point_in_time)
        if os.path.isfile(path):
            set_random_states(torch.load(path, weights_only=True))
            logger.info("Restored the random states of %s", path)
        else:
            logger.warning(
                "%s is missing: training resumes with the config's seeds, so dropout and masking "
                "draws differ from those of an uninterrupted run.",
                path,
            )
        return checkpoint

    def _remove_checkpoint(self, epochs_completed: int, batches_in_epoch_completed: int) -> None:
        super()._remove_checkpoint(epochs_completed, batches_in_epoch_completed)
        pattern = f"random_states_e{epochs_completed}_b{batches_in_epoch_completed}_w*.th"
        for path in glob.iglob(os.path.join(self._serialization_dir, pattern)):
            with contextlib.suppress(FileNotFoundError):  # its rank may remove it too
                os.remove(path)


def get_random_states() -> Dict[str, Any]:
    """Python's, numpy's global and torch's random states (CUDA's where CUDA is in use), as
    plain values and tensors that `torch.load(..., weights_only=True)` reads back."""
    version, python_state, gauss = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    states: Dict[str, Any] = {
        "python": [version, list(python_state), gauss],
        "numpy": {
            "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: Dict[str, Any]) -> None:
    """Restore what `get_random_states` returned."""
    version, python_state, gauss = states["python"]
    random.setstate((version, tuple(python_state), gauss))
    numpy_state = states["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {
                "key": numpy_state["key"].numpy().astype(np.uint32),
                "pos": numpy_state["pos"],
            },
            "has_gauss": numpy_state["has_gauss"],
            "gauss": numpy_state["gauss"],
        }
    )
    torch.set_rng_state(states["torch"])
    cuda_states = states.get("cuda")
    if cuda_states is not None and torch.cuda.is_available():
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        else:
            logger.warning(
                "The checkpoint holds the random states of %d CUDA devices, this process sees "
                "%d: CUDA's random states are not restored.",
                len(cuda_states),
                torch.cuda.device_count(),
            )


# A checkpointer given without a type is this one: overrides such as `{"trainer": {"checkpointer":
# {"save_every_num_batches": 1000}}}` replace the config's whole `checkpointer` dict, type
# included, and would silently lose the random states. `"type": "default"` is allennlp's own.
Checkpointer.default_implementation = "declutr"
