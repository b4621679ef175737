"""The package as a wheel carries what it needs: `pip install .` (not editable) then `declutr demo
--help` and the demo's config loading work without the checkout beside them."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import declutr
from tests import CONFIG_ROOT, PROJECT_ROOT

# Loads the packaged quickstart config the way the demo does, and says where it came from.
LOAD_CONFIG = """
import json
from allennlp.common import Params
import declutr
from declutr.demo.run import DEFAULT_CONFIG
declutr.register()
params = Params.from_file(str(DEFAULT_CONFIG))
print(json.dumps({"config": str(DEFAULT_CONFIG), "package": declutr.__file__,
                  "model": params["model"]["type"], "reader": params["dataset_reader"]["type"]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip install .` would build and install (no dependencies fetched)."""
    out = tmp_path_factory.mktemp("wheel")
    # A copy of the source: setuptools writes build/ and *.egg-info beside what it builds.
    source = tmp_path_factory.mktemp("source") / "declutr"
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", "docs")
    shutil.copytree(PROJECT_ROOT, source, ignore=ignore)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    done = subprocess.run(
        [*command, "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (found,) = out.glob("declutr-*.whl")
    return found


@pytest.mark.slow
def test_the_wheel_holds_the_package_and_its_configs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    # The package, its command and every training config
    assert {"declutr/__init__.py", "declutr/cli.py", "declutr/configs.py"} <= names
    configs = {f"declutr/training_config/{path.name}" for path in CONFIG_ROOT.glob("*.*sonnet")}
    assert configs and configs <= names
    # and nothing of the checkout that is not the package
    assert not [name for name in names if name.startswith(("tests/", "scripts/", "docs/"))]
    entry_points = zipfile.ZipFile(wheel).read(
        f"declutr-{declutr.__version__}.dist-info/entry_points.txt"
    )
    assert b"declutr = declutr.cli:main" in entry_points


@pytest.mark.slow
def test_an_installed_wheel_runs_the_demo_help_and_loads_its_config(wheel, tmp_path):
    # Given the wheel's files installed away from the checkout (a site directory of their own)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "DECLUTR_MODEL": "roberta-base"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, cwd=tmp_path, env=env
        )

    # When the demo's help is printed and its config is loaded as the demo loads it
    help_ = run("-m", "declutr", "demo", "--help")
    loaded = run("-c", LOAD_CONFIG)
    # Then both work, from the installed copy, not from the checkout
    assert help_.returncode == 0 and "--max-documents" in help_.stdout, help_.stderr[-2000:]
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    record = json.loads(loaded.stdout.splitlines()[-1])
    assert Path(record["package"]).is_relative_to(site)
    assert Path(record["config"]) == site / "declutr" / "training_config" / "quickstart.jsonnet"
    assert (record["model"], record["reader"]) == ("declutr", "declutr")
