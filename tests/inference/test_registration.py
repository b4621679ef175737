"""Library entry points register declutr's components themselves: in a fresh interpreter that
never called `declutr.register()` (the test session's conftest does), loading an archive and
building a config's untrained model work. `import declutr` alone registers nothing, so that
`declutr --help` is instant."""

import json
import os
import subprocess
import sys

from tests import CONFIG_ROOT, MODEL_VARIABLE, PROJECT_ROOT, quickstart_overrides

LOAD_ARCHIVE = """
import sys
from declutr.inference.encoder import Encoder
print(Encoder(sys.argv[1], device="cpu").encode(["one text"]).shape)
"""
UNTRAINED = """
import json, sys
from declutr.evaluation.before_after import untrained_model
model, reader = untrained_model(sys.argv[1], json.loads(sys.argv[2]))
print(type(model).__name__, type(reader).__name__)
"""


def fresh_python(code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        timeout=300,
    )


def test_an_archive_loads_without_register(archive_file):
    done = fresh_python(LOAD_ARCHIVE, str(archive_file))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().startswith("(1,")


def test_an_untrained_model_builds_from_a_config_without_register(tiny_model):
    config = str(CONFIG_ROOT / "quickstart.jsonnet")
    overrides = json.dumps(quickstart_overrides())
    done = fresh_python(UNTRAINED, config, overrides, **{MODEL_VARIABLE: tiny_model})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["DeCLUTR", "DeCLUTRDatasetReader"]


def test_importing_the_package_registers_nothing():
    code = (
        "import sys, declutr; print(sorted(m for m in ('torch', 'allennlp') if m in sys.modules))"
    )
    done = fresh_python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"
