"""Compatibility patches for allennlp 2.10.1 (archived) on current torch and transformers.

Every patch is applied once, when `declutr.compat` is imported (by `declutr.register()`, the first
use of `declutr.Encoder` and the like, and `--include-package declutr`), names the upstream break
it mends, and has a test in `tests/compat/test_patches.py` that fails without it.
"""

import functools
import inspect
import os
from typing import Any, Callable

import torch
from allennlp.common import cached_transformers
from allennlp.common.file_utils import cached_path
from allennlp.models import archival
from allennlp.nn import util as nn_util
from allennlp.training import checkpointer as checkpointer_module
from allennlp.training.checkpointer import Checkpointer

from declutr.compat.archives import check_archive_file, check_weights_file
from declutr.files import atomic_path

_PATCHED_MARK = "_declutr_patched"


def _drop_add_special_tokens_kwarg() -> None:
    """`PretrainedTransformerTokenizer.__init__` calls
    `cached_transformers.get_tokenizer(name, add_special_tokens=False, ...)`, and that keyword
    reaches `AutoTokenizer.from_pretrained`. Since transformers 4.3x, tokenizers refuse it
    ("add_special_tokens conflicts with the method add_special_tokens"). It was never a
    constructor option (allennlp passes it per call when encoding), so it is dropped here.
    """
    original = cached_transformers.get_tokenizer
    if getattr(original, _PATCHED_MARK, False):
        return

    @functools.wraps(original)
    def get_tokenizer(model_name: str, **kwargs: Any) -> Any:
        kwargs.pop("add_special_tokens", None)
        return original(model_name, **kwargs)

    setattr(get_tokenizer, _PATCHED_MARK, True)
    cached_transformers.get_tokenizer = get_tokenizer


def _patch(owner: Any, name: str, make_wrapper: Callable[[Any], Any]) -> None:
    """Replace `owner.name` by `make_wrapper(original)`, once."""
    original = getattr(owner, name)
    if getattr(original, _PATCHED_MARK, False):
        return
    wrapper = functools.wraps(original)(make_wrapper(original))
    setattr(wrapper, _PATCHED_MARK, True)
    setattr(owner, name, wrapper)


def _check_archives_before_extracting() -> None:
    """`allennlp.models.archival.extracted_archive` calls `tarfile.extractall` without a filter,
    so a member named `../x` or `/x`, or a link, writes outside the temporary directory (Python
    3.11 and 3.12 extract such members by default), and a truncated archive fails with a bare
    `EOFError` naming no file. The archive is checked first (`check_archive_file`); the
    extraction itself is allennlp's.
    """

    def make_wrapper(original: Any) -> Any:
        def extracted_archive(resolved_archive_file: str, *args: Any, **kwargs: Any) -> Any:
            check_archive_file(resolved_archive_file)
            return original(resolved_archive_file, *args, **kwargs)

        return extracted_archive

    _patch(archival, "extracted_archive", make_wrapper)


def _load_weights_only() -> None:
    """allennlp 2.10.1 loads model weights with `torch.load(path, map_location=...)` in
    `allennlp.nn.util.read_state_dict` (what `Model.load` and so `load_archive` use) and a
    transformer's `override_weights_file` in `cached_transformers.get`, without `weights_only`:
    they rely on torch's default, `True` since torch 2.6 but `False` before it and whenever
    `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1` is set, when unpickling a weights file can run any code
    it carries. The file is first unpickled with `weights_only=True` (`check_weights_file`), so
    one holding anything but tensors is refused before allennlp unpickles it.
    """

    def make_read_state_dict(original: Any) -> Any:
        def read_state_dict(path: Any, *args: Any, **kwargs: Any) -> Any:
            check_weights_file(path)
            return original(path, *args, **kwargs)

        return read_state_dict

    def make_get(original: Any) -> Any:
        signature = inspect.signature(original)

        def get(*args: Any, **kwargs: Any) -> Any:
            arguments = signature.bind(*args, **kwargs).arguments
            override_weights_file = arguments.get("override_weights_file")
            if override_weights_file is not None and arguments.get("load_weights", True):
                check_weights_file(cached_path(override_weights_file))
            return original(*args, **kwargs)

        return get

    _patch(nn_util, "read_state_dict", make_read_state_dict)
    _patch(cached_transformers, "get", make_get)


class _TorchWithAtomicSave:
    """The `torch` module as allennlp's checkpointer sees it: `save` writes a temporary file
    beside the target and renames it, so the target is either complete or absent."""

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)

    @staticmethod
    def save(obj: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        with atomic_path(os.fspath(path)) as temporary:
            torch.save(obj, temporary, *args, **kwargs)


def _atomic_checkpoints() -> None:
    """`allennlp.training.checkpointer.Checkpointer.save_checkpoint` writes the model state and
    then the training state with `torch.save` straight to their final names, and `--recover`
    takes the newest model state it finds. A process killed while writing (SIGKILL, a node
    lost) leaves a truncated file, or a model state without its training state, and recovery
    then fails (`EOFError`, `FileNotFoundError`): the crash costs the whole run. Here each file
    is written atomically (temporary file, then rename), and a checkpoint counts only once both
    of its files exist.
    """
    if not isinstance(checkpointer_module.torch, _TorchWithAtomicSave):
        checkpointer_module.torch = _TorchWithAtomicSave()  # type: ignore[assignment]

    def make_find_all_checkpoints(original: Any) -> Any:
        def _find_all_checkpoints(self: Checkpointer) -> Any:
            return {
                checkpoint
                for checkpoint in original(self)
                if os.path.isfile(self._training_state_path(*checkpoint))
            }

        return _find_all_checkpoints

    _patch(Checkpointer, "_find_all_checkpoints", make_find_all_checkpoints)


def apply_patches() -> None:
    """Apply every patch (idempotent)."""
    _drop_add_special_tokens_kwarg()
    _check_archives_before_extracting()
    _load_weights_only()
    _atomic_checkpoints()
