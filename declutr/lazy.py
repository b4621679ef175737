"""Package attributes imported on first use (PEP 562), so that importing a package is cheap:
`declutr --help` must not pay for torch, allennlp or scikit-learn."""

import importlib
from typing import Any, Callable, Dict


def lazy_attributes(package: str, sources: Dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package` that imports `name` from `sources[name]`, the module
    defining it, when it is first asked for."""

    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(sources[name]), name)

    return __getattr__
