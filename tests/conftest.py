"""Shared fixtures: a tiny RoBERTa-style encoder built offline from the fixture documents."""

import os
from pathlib import Path
from typing import List

import pytest
from hypothesis import settings

import declutr
from declutr.testing.from_scratch import build_encoder_from_scratch
from tests import DOCUMENTS

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests compare vectors to the predictor's at 1e-5: they embed with torch float32 unless they say
# otherwise. The automatic choice of runtime (the users' default) is tested with these unset
# (tests/inference/test_choice.py, the `auto_runtime` fixture).
os.environ["DECLUTR_BACKEND"] = "torch"
os.environ["DECLUTR_PRECISION"] = "float32"
declutr.register()  # the compatibility patches, and every component registered with allennlp

# Property tests: CI (`.ci/run` sets HYPOTHESIS_PROFILE=ci) runs the same examples every time, so
# it can never fail by chance; local runs (the "dev" profile) keep exploring new examples, and
# keep a database of failures found, to replay them. Tests' own `settings(...)` (max_examples,
# deadline) still apply on top of the profile. Load a profile by name with
# `HYPOTHESIS_PROFILE=ci pytest ...` to reproduce CI exactly. "dev" sets derandomize=False
# explicitly: under a CI environment variable, Hypothesis's own defaults are derandomized and every
# profile registered without it would inherit that.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
SHARED = Path(os.environ.get("DECLUTR_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def fixture_documents() -> List[str]:
    return DOCUMENTS.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """Path of a 2-layer, 32-dim RoBERTa masked LM with a BPE tokenizer trained on the fixtures
    (dropout on, as a real model)."""
    path = tmp_path_factory.mktemp("tiny-roberta")
    return str(build_encoder_from_scratch(fixture_documents(), path, seed=0))


@pytest.fixture(scope="session")
def tiny_model_no_dropout(tmp_path_factory) -> str:
    """The same architecture without dropout, for tests that compare gradients exactly."""
    path = tmp_path_factory.mktemp("tiny-roberta-no-dropout")
    return str(build_encoder_from_scratch(fixture_documents(), path, dropout=0.0, seed=0))


@pytest.fixture
def auto_runtime(monkeypatch):
    """The users' default: `backend="auto"` and `precision="auto"` choose the runtime."""
    monkeypatch.delenv("DECLUTR_BACKEND")
    monkeypatch.delenv("DECLUTR_PRECISION")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` (or $DECLUTR_SHARED): real models and data; tests using it skip without it."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent")
    return SHARED


@pytest.fixture
def bf16_cpu(monkeypatch):
    """A CPU with bfloat16 instructions, for tests of bfloat16 arithmetic on the CPU: on a CPU
    without them torch emulates bfloat16 (slow, but the same numbers on a tiny model), which
    `Encoder` would otherwise refuse. Only the capability query is replaced."""
    from declutr.inference import cpu

    flags = cpu.cpu_flags() or frozenset()
    monkeypatch.setattr(cpu, "cpu_flags", lambda: flags | {"avx512_bf16"})
