"""`backend="auto"` / `precision="auto"` (declutr/inference/choice.py): the candidates follow the
CPU's instruction sets and the installed extras, and a runtime is taken only when its vectors
keep a cosine of 0.9999 to torch float32's. The CPU is played by replacing its capability query
only; every runtime tried is real."""

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from declutr import Encoder
from declutr.cli import app
from declutr.inference import choice, cpu
from declutr.inference.options import AUTO
from tests import DOCUMENTS
from tests.inference.test_cpu import AVX2_ONLY, AVX512_BF16

EVERYTHING = frozenset({"torch", "openvino", "onnx"})


@pytest.fixture
def cpu_with(monkeypatch):
    def play(flags):
        monkeypatch.setattr(cpu, "cpu_flags", lambda: flags)

    return play


def smallest_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return choice.min_cosine(a, b)


# The candidates: a pure function of the device, the CPU's bfloat16 instructions, the extras.


def test_a_cpu_with_bfloat16_instructions_tries_openvino_bfloat16_first():
    assert choice.candidates("cpu", True, EVERYTHING) == [
        ("openvino", "bfloat16"),
        ("torch", "bfloat16"),
        ("openvino", "float32"),
        ("onnx", "float32"),
        ("torch", "float32"),
    ]


def test_an_avx2_cpu_never_tries_bfloat16():
    assert choice.candidates("cpu", False, EVERYTHING) == [
        ("openvino", "float32"),
        ("onnx", "float32"),
        ("torch", "float32"),
    ]
    assert choice.candidates("cpu", None, frozenset({"torch"})) == [("torch", "float32")]


def test_a_gpu_runs_torch_float32_and_missing_extras_are_not_tried():
    assert choice.candidates("cuda", True, EVERYTHING) == [("torch", "float32")]
    assert choice.candidates("cpu", True, frozenset({"torch", "onnx"})) == [
        ("torch", "bfloat16"),
        ("onnx", "float32"),
        ("torch", "float32"),
    ]


def test_forcing_one_option_chooses_the_other():
    assert choice.candidates("cpu", True, EVERYTHING, backend="openvino") == [
        ("openvino", "bfloat16"),
        ("openvino", "float32"),
    ]
    assert choice.candidates("cpu", True, EVERYTHING, precision="float32")[0] == (
        "openvino",
        "float32",
    )
    # Nothing fits: the forced path itself, for check_runtime_options to explain
    assert choice.candidates("cpu", True, EVERYTHING, precision="float16") == [("torch", "float16")]
    assert choice.candidates("cuda", True, EVERYTHING, backend="onnx") == [("onnx", "float32")]


@given(
    device=st.sampled_from(["cpu", "cuda"]),
    bf16=st.sampled_from([True, False, None]),
    extras=st.sets(st.sampled_from(["openvino", "onnx"])),
    backend=st.sampled_from([AUTO, "torch", "openvino", "onnx"]),
    precision=st.sampled_from([AUTO, "float32", "bfloat16", "float16"]),
)
def test_candidates_respect_the_machine_and_the_forced_options(
    device, bf16, extras, backend, precision
):
    installed = frozenset({"torch", *extras})
    paths = choice.candidates(device, bf16, installed, backend, precision)
    assert paths and len(set(paths)) == len(paths)
    fallback = paths == [
        ("torch" if backend == AUTO else backend, "float32" if precision == AUTO else precision)
    ]
    for name, kind in paths:
        assert backend in (AUTO, name) and precision in (AUTO, kind)
        if not fallback:
            assert name in installed
            # bfloat16 only where the CPU computes it natively; nothing reduced on a GPU
            assert kind == "float32" or (device == "cpu" and bf16 and kind == "bfloat16")
    if backend == precision == AUTO:
        assert paths[-1] == ("torch", "float32")  # the reference is always the last resort


# The check: a candidate is taken only within MIN_COSINE of torch float32.


def test_a_candidate_that_changes_the_vectors_is_passed_over():
    reference = np.eye(3, dtype=np.float32)
    skewed = reference + 0.1 * np.roll(reference, 1, axis=1)
    vectors = {("openvino", "bfloat16"): skewed, ("onnx", "float32"): reference + 1e-7}

    def build(backend, precision):
        if backend == "openvino" and precision == "float32":
            raise RuntimeError("conversion failed")
        return (backend, precision)

    def vectors_of(runtime):
        return vectors.get(runtime, reference)

    paths = [("openvino", "bfloat16"), ("openvino", "float32"), ("onnx", "float32"),
             ("torch", "float32")]  # fmt: skip
    runtime, record = choice.choose(paths, build, vectors_of, "auto", ["avx2"])
    assert runtime == ("onnx", "float32")
    assert record.min_cosine >= choice.MIN_COSINE
    assert "min cosine" in record.rejected["openvino/bfloat16"]
    assert "conversion failed" in record.rejected["openvino/float32"]
    assert "onnx" in str(record) and "not taken" in str(record)


def test_the_environment_replaces_auto_and_is_checked(monkeypatch):
    monkeypatch.setenv("DECLUTR_BACKEND", "onnx")
    assert choice.option_value("backend", AUTO) == "onnx"
    assert choice.option_value("backend", "torch") == "torch"  # an argument wins
    monkeypatch.setenv("DECLUTR_PRECISION", "double")
    with pytest.raises(ValueError, match="DECLUTR_PRECISION='double'.*float32"):
        choice.option_value("precision", AUTO)


# The encoder, the command and the predictor with the users' default.


@pytest.mark.parametrize("flags", [AVX512_BF16, AVX2_ONLY])
def test_the_encoder_takes_the_first_candidate_with_the_same_vectors(
    tiny_model, texts, cpu_with, flags, auto_runtime
):
    # Given a CPU with or without bfloat16 instructions
    cpu_with(flags)
    reference = Encoder(tiny_model, device="cpu", backend="torch", precision="float32")

    # When the encoder chooses
    encoder = Encoder(tiny_model, device="cpu")

    # Then it took the first candidate of this CPU that passed the check, said so, and embeds as
    # float32 does
    found = encoder.runtime_choice
    paths = choice.candidates("cpu", "avx512_bf16" in flags, choice.installed_backends())
    assert (found.backend, found.precision) in paths and found.chosen_by == "auto"
    taken = paths.index((found.backend, found.precision))
    assert sorted(found.rejected) == [f"{b}/{p}" for b, p in paths[:taken]]
    assert (encoder.backend, encoder.precision) == (found.backend, found.precision)
    if (found.backend, found.precision) != ("torch", "float32"):
        assert found.min_cosine >= choice.MIN_COSINE
    if "avx512_bf16" not in flags:
        assert found.precision == "float32"
    assert smallest_cosine(encoder.encode(texts), reference.encode(texts)) >= choice.MIN_COSINE
    assert ("avx512_bf16" in found.cpu_flags) == ("avx512_bf16" in flags)


def test_with_an_impossible_bound_the_encoder_falls_back_to_torch_float32(
    tiny_model, cpu_with, monkeypatch, auto_runtime
):
    # Given a check no reduced runtime can pass
    cpu_with(AVX512_BF16)
    monkeypatch.setattr(choice, "MIN_COSINE", 1.5)
    # Then the reference itself is taken, and every candidate before it is named with its reason
    encoder = Encoder(tiny_model, device="cpu")
    assert (encoder.backend, encoder.precision) == ("torch", "float32")
    paths = choice.candidates("cpu", True, choice.installed_backends())
    assert len(encoder.runtime_choice.rejected) == len(paths) - 1


def test_a_forced_backend_chooses_its_precision(tiny_model, cpu_with, auto_runtime):
    cpu_with(AVX2_ONLY)
    encoder = Encoder(tiny_model, device="cpu", backend="torch")
    assert (encoder.precision, encoder.runtime_choice.chosen_by) == ("float32", "auto precision")
    forced = Encoder(tiny_model, device="cpu", backend="torch", precision="float32")
    assert forced.runtime_choice.chosen_by == "forced"


def test_embed_writes_the_choice_beside_the_output(archive_file, tmp_path, auto_runtime):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(DOCUMENTS.read_text(encoding="utf-8"), encoding="utf-8")
    output = tmp_path / "vectors.npy"
    result = CliRunner().invoke(app, ["embed", str(archive_file), str(corpus), "-o", str(output)])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "vectors.npy.json").read_text())
    runtime = record["runtime"]
    assert runtime["chosen_by"] == "auto" and record["lines"] == np.load(output).shape[0]
    assert f"with {runtime['backend']} {runtime['precision']} (auto" in result.output


def test_the_predictor_chooses_and_keeps_the_vectors(archive_file, predictor, auto_runtime):
    from allennlp.models.archival import load_archive
    from allennlp.predictors import Predictor

    chosen = Predictor.from_archive(load_archive(str(archive_file)), "declutr")
    texts = [{"text": "A short text."}, {"text": "Another, longer text to embed here."}]
    expected = np.array([o["embeddings"] for o in predictor.predict_batch_json(texts)])
    found = np.array([o["embeddings"] for o in chosen.predict_batch_json(texts)])
    assert smallest_cosine(found, expected) >= choice.MIN_COSINE
