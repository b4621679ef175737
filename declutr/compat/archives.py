"""Load AllenNLP model archives without running code from them, and say clearly why one is refused.

A `model.tar.gz` is a gzipped tar of `config.json`, `weights.th` (a `torch.save`d state dict),
`vocabulary/` and `meta.json`. Two things in it could act on the loading machine: tar members
that point outside the extraction directory (absolute paths, `..`, links, devices), and a
`weights.th` that pickles arbitrary objects, whose unpickling can run any code. This module checks
for both before anything is extracted or unpickled:

- `check_archive_file` reads the whole archive once: a truncated or corrupt file, a file that is
  not a gzipped tar, or a member other than a plain file or directory inside the archive is
  refused with an `ArchiveError` naming the archive.
- `check_weights_file` unpickles a weights file with `torch.load(..., weights_only=True)`, which
  builds tensors and plain containers only and refuses every other object (nothing of the file
  runs); an `UnsafeArchiveError` names the file and says it was not loaded.

allennlp 2.10.1 calls `torch.load` without `weights_only`, so its safety rests on torch's default
(`True` since torch 2.6), which the environment variable `TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`
turns off. `declutr.compat.patches` therefore runs these checks inside allennlp itself, on `import
declutr`: `load_archive` (and so `allennlp predict`, `evaluate` and `Predictor.from_path`) checks
the archive before extracting it and the weights before reading them, and a transformer's
`override_weights_file` is checked too. `load_archive_safely` is the entry point for code:

```python
from declutr.compat.archives import ArchiveError, load_archive_safely

archive = load_archive_safely("model.tar.gz")  # raises ArchiveError if it is refused
```

Hugging Face models named by an archive's config are loaded by transformers, which reads weights
with `weights_only=True` and runs no code from the hub unless `trust_remote_code=True` (never set
here). Neither check makes a model trustworthy: they only keep loading from running its code.
"""

import gzip
import pickle
import re
import tarfile
import zipfile
import zlib
from os import PathLike
from pathlib import PurePosixPath
from typing import Any, Dict, Optional, Union

import torch
from allennlp.models.archival import Archive, load_archive

# Read the archive in blocks of this many bytes when checking that it is complete.
_BLOCK_SIZE = 1 << 20


class ArchiveError(ValueError):
    """A model archive or weights file is corrupt, truncated, or not an archive; the message
    names the file."""


class UnsafeArchiveError(ArchiveError):
    """A model archive holds something whose loading could act on this machine (pickled code,
    paths outside the archive); it was not loaded."""


def load_archive_safely(
    archive_file: Union[str, PathLike],
    cuda_device: int = -1,
    overrides: Union[str, Dict[str, Any]] = "",
    weights_file: Optional[str] = None,
) -> Archive:
    """allennlp's `load_archive`, with the archive and its weights checked first.

    Parameters are those of `allennlp.models.archival.load_archive`. Raises `ArchiveError` for a
    truncated, corrupt or non-archive file and `UnsafeArchiveError` for an archive holding code
    or paths outside itself; other errors (a missing file, a bad config) are allennlp's.
    """
    # The checks run inside allennlp's own loading: importing `declutr.compat` (the package of
    # this module) applied the patches that add them.
    try:
        return load_archive(
            archive_file, cuda_device=cuda_device, overrides=overrides, weights_file=weights_file
        )
    except ArchiveError as error:
        if str(archive_file) in str(error):
            raise
        # The weights were checked in allennlp's temporary extraction directory: name the archive.
        raise type(error)(f"Cannot load the AllenNLP archive {archive_file}: {error}") from None


def check_archive_file(path: Union[str, PathLike]) -> None:
    """Raise `ArchiveError` unless `path` is a complete gzipped tar whose members are plain files
    and directories inside it (`UnsafeArchiveError` for members that are not).

    Reads (decompresses) the whole file once, without extracting anything.
    """
    try:
        with gzip.open(path, "rb") as stream:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    _check_member(member, path)
            while stream.read(_BLOCK_SIZE):  # the tar end marker may precede the gzip end
                pass
    except (EOFError, tarfile.ReadError, zlib.error, gzip.BadGzipFile) as error:
        raise ArchiveError(
            f"Cannot load the AllenNLP archive {path}: it is truncated or corrupt, or not a "
            f"gzipped tar file ({type(error).__name__}: {error}). Download or copy it again."
        ) from None


def _check_member(member: tarfile.TarInfo, archive: Union[str, PathLike]) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        problem = "a path outside the archive"
    elif not (member.isfile() or member.isdir()):
        problem = "a link or special file"
    else:
        return
    raise UnsafeArchiveError(
        f"Refusing to extract the archive {archive}: its member {member.name!r} is {problem}. "
        "Model archives hold only plain files and directories; it was not extracted."
    )


def check_weights_file(path: Union[str, PathLike]) -> None:
    """Raise `UnsafeArchiveError` if the `torch.save` file `path` holds anything but tensors and
    plain containers (such as pickled code), `ArchiveError` if it is truncated or corrupt.

    Unpickles with `weights_only=True`, so nothing in the file runs; zip-format files (what
    `torch.save` writes) are memory-mapped, so checking costs little memory or time.
    """
    try:
        torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as error:
        raise UnsafeArchiveError(
            f"{path} contains code or other objects than tensors ({_unpickling_detail(error)}), "
            "or is not a torch weights file; it was not loaded, since unpickling it could run "
            "arbitrary code."
        ) from None
    except FileNotFoundError:
        raise
    except (RuntimeError, EOFError, ValueError, OSError) as error:
        raise ArchiveError(
            f"{path} is truncated or corrupt and was not loaded ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''})."
        ) from None


def _unpickling_detail(error: pickle.UnpicklingError) -> str:
    """The informative part of torch's long weights-only error ("Unsupported global: GLOBAL
    builtins.exec was not an allowed global by default")."""
    match = re.search(r"Unsupported [^.\n]*", str(error))
    return match.group(0) if match else "not loadable with weights_only=True"
