"""Files written whole or not at all, the one file utility under every layer (`data`, `compat`,
`inference` use it): a writer writes to `NAME.partial` beside the target and renames it onto the
target once complete (`atomic_path`), so that a reader sees the complete file or none."""

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]
PARTIAL_SUFFIX = ".partial"


def partial_path(path: PathLike) -> Path:
    """Where `path` is written before it is complete: `path` + `.partial`."""
    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield `partial_path(path)` to write to; when the block ends without an error it is renamed
    onto `path` (atomically, on one filesystem), else it is removed and the error re-raised."""
    temporary = partial_path(path)
    try:
        yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
