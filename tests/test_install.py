"""Installing into one's own environment: without allennlp, declutr says what to do as soon as it
needs allennlp (importing the package itself needs nothing heavy)."""

import os
import subprocess
import sys

from tests import PROJECT_ROOT

# A meta-path finder that makes allennlp look uninstalled, in a fresh interpreter.
WITHOUT_ALLENNLP = """
import sys

class HideAllennlp:
    def find_spec(self, name, path=None, target=None):
        if name == "allennlp" or name.startswith("allennlp."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, HideAllennlp())
import declutr

try:
    declutr.register()
except ImportError as error:
    print(f"{type(error).__name__}: {error}")
else:
    print("imported")
"""


def test_import_without_allennlp_says_how_to_install_it():
    # Given an interpreter in which allennlp cannot be found
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    # When it imports declutr and registers its components
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_ALLENNLP], env=env, capture_output=True, text=True
    )
    # Then the error names the missing package and the commands that install it
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ImportError: declutr needs allennlp 2.10.1"), result.stdout
    assert "pip install --no-deps allennlp==2.10.1" in result.stdout
    assert "-c constraints.txt" in result.stdout
