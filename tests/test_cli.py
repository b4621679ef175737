"""`declutr` (declutr/cli.py): one command with a subcommand per step. Each subcommand's own
tests sit beside the library code it calls (tests/data/test_corpus.py, tests/inference/...)."""

from typer.testing import CliRunner

from declutr.cli import app


def test_help_lists_every_subcommand():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("prepare-corpus", "embed", "merge", "export", "evaluate", "demo"):
        assert command in result.output


def test_an_unknown_subcommand_fails():
    result = CliRunner().invoke(app, ["train"])
    assert result.exit_code != 0
