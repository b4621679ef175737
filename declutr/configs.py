"""The training configs of `training_config/`, wherever declutr is installed from: a checkout
(editable install) reads the folder beside the package; a wheel carries the same files inside the
package (`declutr/training_config/`, mapped in setup.py)."""

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "training_config"
CHECKOUT = Path(__file__).resolve().parents[1] / "training_config"


def config_dir() -> Path:
    """The folder of the training configs: the packaged copy if installed from a wheel, else the
    checkout's `training_config/`."""
    for folder in (PACKAGED, CHECKOUT):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"No training configs in {PACKAGED} or {CHECKOUT}: reinstall declutr "
        "(`pip install .` from a clone carries them)."
    )


def config_path(name: str) -> Path:
    """`training_config/NAME` (for example "quickstart.jsonnet"); FileNotFoundError if absent."""
    path = config_dir() / name
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in config_dir().glob("*.*sonnet")))
        raise FileNotFoundError(f"No training config {name!r}; there are: {known}.")
    return path
