"""The suite cannot fail by chance: CI runs property tests derandomized (tests/conftest.py)."""

import os
from typing import List

from hypothesis import given, settings
from hypothesis import strategies as st

from tests import PROJECT_ROOT


def drawn_examples(profile: str) -> List[int]:
    """The integers a 30-example property test draws under `profile`."""
    drawn: List[int] = []

    @settings(settings.get_profile(profile), max_examples=30)
    @given(st.integers())
    def record(value: int) -> None:
        drawn.append(value)

    record()
    return drawn


def test_ci_profile_draws_the_same_examples_every_run():
    # Given the "ci" profile, derandomized and without an example database
    profile = settings.get_profile("ci")
    assert profile.derandomize and profile.database is None
    # When the same property test runs twice
    # Then it draws exactly the same examples both times
    assert drawn_examples("ci") == drawn_examples("ci")


def test_local_runs_keep_exploring():
    # Given / When / Then the default local profile draws new examples on every run
    assert not settings.get_profile("dev").derandomize


def test_ci_selects_the_ci_profile():
    # Given the CI entry point, When / Then it selects the derandomized profile for `make test`
    lines = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert lines.index("export HYPOTHESIS_PROFILE=ci") < lines.index("make test")
    # And when this suite runs under it, the loaded profile is derandomized
    if os.environ.get("HYPOTHESIS_PROFILE") == "ci":
        assert settings.default.derandomize
