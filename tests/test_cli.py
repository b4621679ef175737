"""`declutr` (declutr/cli.py): one command with a subcommand per step, fast, quiet and consistent.
Each subcommand's own tests sit beside the library code it calls (tests/data/test_corpus.py,
tests/inference/...)."""

import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List

import pytest
import typer
from typer.testing import CliRunner

import declutr
from declutr.cli import app
from tests import DOCUMENTS, PROJECT_ROOT, quickstart_overrides

COMMANDS = ("prepare-corpus", "embed", "merge", "export", "evaluate", "demo")
# What `--help` must not import: it would take seconds (torch and allennlp: 5-20 s here).
HEAVY = ("torch", "allennlp", "transformers", "sklearn", "rich")
HELP_PROBE = """
import json, sys
from typer.testing import CliRunner
from declutr.cli import app
result = CliRunner().invoke(app, sys.argv[1:])
heavy = [name for name in {heavy!r} if name in sys.modules]
print(json.dumps({{"exit_code": result.exit_code, "heavy": heavy}}))
"""


def run_python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """A fresh interpreter in the project root, as a user's shell starts one."""
    env = {**(kwargs.pop("env", None) or os.environ), "PYTHONWARNINGS": ""}  # not pytest's
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=PROJECT_ROOT, env=env, **kwargs
    )


def command_params() -> Dict[str, Dict[str, Any]]:
    """Every subcommand's parameters by name, as click sees them."""
    group = typer.main.get_command(app)
    return {
        name: {param.name: param for param in command.params}
        for name, command in group.commands.items()
    }


def test_help_lists_every_subcommand_with_a_one_line_summary():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    listing = result.output.split("Commands:")[1].strip().splitlines()
    # One line per command, none cut short with "..."
    assert [line.split()[0] for line in listing] == list(COMMANDS)
    assert not [line for line in listing if line.rstrip().endswith("...")]


def test_an_unknown_subcommand_fails():
    result = CliRunner().invoke(app, ["train"])
    assert result.exit_code != 0


@pytest.mark.parametrize("command", [[], *([name] for name in COMMANDS)])
def test_help_imports_neither_torch_nor_allennlp(command: List[str]):
    # Given a fresh interpreter
    # When it prints the help of `declutr` or of a subcommand
    done = run_python("-c", HELP_PROBE.format(heavy=HEAVY), *command, "--help", timeout=60)
    # Then nothing heavy was imported, and nothing was printed on stderr
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"exit_code": 0, "heavy": []}
    assert done.stderr == ""


def test_help_takes_about_as_long_as_starting_python():
    # Given the time of an empty interpreter and of `python -m declutr --help` (best of three)
    def best(*args: str) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            assert run_python(*args, timeout=60).returncode == 0
            times.append(time.perf_counter() - start)
        return min(times)

    empty, help_ = best("-c", "pass"), best("-m", "declutr", "--help")
    # Then the help costs well under a second more (torch alone takes several)
    assert help_ - empty < 1.0, (empty, help_)


def test_import_declutr_and_register_print_no_warning():
    # Given a fresh interpreter with Python's default warning filters
    # When it imports declutr and registers every component (allennlp, fairscale, torch load)
    done = run_python("-c", "import declutr; declutr.register()", timeout=300)
    # Then no third-party deprecation warning reaches the user
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr, done.stderr


@pytest.mark.parametrize("runtime", ["torch", "auto"])
def test_a_real_command_prints_no_warning(tiny_model, tmp_path, runtime):
    # Given a model and a text file, and a user's environment (with "auto", nothing set: the
    # runtime is chosen and converted, which forks after the tokenizer ran)
    # When `declutr embed` runs in a fresh interpreter
    output = tmp_path / "out.npy"
    env = None
    if runtime == "auto":
        unset = ("DECLUTR_BACKEND", "DECLUTR_PRECISION", "TOKENIZERS_PARALLELISM")
        env = {key: value for key, value in os.environ.items() if key not in unset}
    done = run_python(
        "-m", "declutr", "embed", tiny_model, str(DOCUMENTS), "-o", str(output), "--no-progress",
        timeout=300, env=env,
    )  # fmt: skip
    # Then it embeds, and stderr holds log lines but no library's warning (Python warnings,
    # tokenizers' fork notice, transformers' notices while the runtime converts)
    assert done.returncode == 0, done.stderr[-2000:]
    assert output.is_file()
    for marker in ("Warning", "forked", "TOKENIZERS_PARALLELISM", "unrecognised"):
        assert marker not in done.stderr, done.stderr
    if runtime == "auto":
        assert "INFO declutr.inference.choice: Embedding with backend=" in done.stderr


TRAIN = """
import json, sys
from declutr.demo.run import train
train(sys.argv[1], sys.argv[2], sys.argv[3], overrides=json.loads(sys.argv[4]))
"""


@pytest.mark.slow
def test_training_through_declutr_prints_no_warning(tiny_model, tmp_path):
    # Given the demo's training function (allennlp's trainer, transformers' AdamW, amp)
    overrides = {
        key: value for key, value in quickstart_overrides().items() if key != "train_data_path"
    }
    # When it trains the tiny model for an epoch in a fresh interpreter
    done = run_python(
        "-c", TRAIN, str(DOCUMENTS), tiny_model, str(tmp_path / "model"), json.dumps(overrides),
        timeout=600,
    )  # fmt: skip
    # Then it writes the archive and no deprecation warning
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "model" / "model.tar.gz").is_file()
    assert "FutureWarning" not in done.stderr and "DeprecationWarning" not in done.stderr


def test_help_is_printed_as_written():
    # Square brackets are text, not markup: the extras' names survive
    result = CliRunner().invoke(app, ["embed", "--help"])
    assert result.exit_code == 0
    assert '"declutr[openvino]"' in result.output and '"declutr[onnx]"' in result.output
    # The usage line names the arguments as the description does
    assert "MODEL" in result.output.splitlines()[0] and "INPUT" in result.output.splitlines()[0]


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"declutr {declutr.__version__}"


def test_the_same_idea_has_the_same_option_everywhere():
    params = command_params()
    writers = ("prepare-corpus", "embed", "export", "evaluate", "demo")
    for name in writers:
        assert params[name]["output"].opts == ["--output", "-o"], name
    for name in ("prepare-corpus", "embed", "export"):
        assert params[name]["force"].opts == ["--force"], name
    for name in ("embed", "export", "evaluate"):
        assert params[name]["device"].default is None, name  # a GPU if any, else the CPU
    for name in ("prepare-corpus", "embed", "evaluate"):
        assert "--no-progress" in params[name]["progress"].secondary_opts, name
    # No old spelling is left
    names = {param for command in params.values() for param in command}
    assert not names & {"overwrite", "output_dir", "output_path"}


@pytest.mark.parametrize("command", ["embed", "evaluate"])
def test_enumerated_options_list_and_check_their_choices(command):
    # The help lists each choice
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    for listed in (
        "--precision <auto|float32|bfloat16|float16|int8>",
        "--backend <auto|torch|openvino|onnx>",
        "--long-texts <truncate|chunk_mean>",
    ):
        assert listed in result.output, listed
    # and a value outside them is refused before anything loads
    refused = CliRunner().invoke(app, [command, "m", "--precision", "float64"])
    assert refused.exit_code == 2 and "float64" in refused.output


def test_export_and_embed_list_their_own_choices():
    export = CliRunner().invoke(app, ["export", "--help"], terminal_width=200).output
    embed = CliRunner().invoke(app, ["embed", "--help"], terminal_width=200).output
    assert "--backend <list[openvino|onnx]>" in export
    assert "--on-error <raise|skip>" in embed


def test_defaults_are_shown_as_they_are():
    result = CliRunner().invoke(app, ["demo", "--help"], terminal_width=200)
    assert result.exit_code == 0
    # No path of this machine, and no default that contradicts its own help
    assert str(PROJECT_ROOT) not in result.output
    max_documents = next(line for line in result.output.splitlines() if "--max-documents" in line)
    assert "default: all not held out" in max_documents and "[default:" not in max_documents
    assert "packaged quickstart.jsonnet" in result.output
