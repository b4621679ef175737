"""Tests of `declutr.Encoder`, `scripts/export.py` and `scripts/prepare_corpus.py`."""

import importlib.util
from types import ModuleType

from tests import PROJECT_ROOT


def load_script(name: str) -> ModuleType:
    """Import `scripts/<name>.py` (scripts are not a package) as a module."""
    spec = importlib.util.spec_from_file_location(
        f"declutr_scripts_{name}", PROJECT_ROOT / "scripts" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
