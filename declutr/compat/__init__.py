"""Compatibility of allennlp 2.10.1 (archived) with current torch and transformers.

`patches` mends allennlp where current libraries broke it, and makes its archive loading safe
with the checks of `archives` (which imports nothing back from `patches`). Importing this package
applies the patches (idempotent), so `archives.load_archive_safely` always runs with them.
"""

from declutr.compat.patches import apply_patches

apply_patches()

__all__ = ["apply_patches"]
