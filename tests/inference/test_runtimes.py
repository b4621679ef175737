"""Encoder's precisions and backends against its float32 torch vectors, the runtime files that
exports write, and the combinations it refuses."""

import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from declutr import Encoder
from declutr.cli import app
from declutr.inference import runtimes
from declutr.inference.runtimes import ONNX_FILE, OPENVINO_FILE
from tests import DOCUMENTS


def smallest_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        np.min(np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))
    )


@pytest.fixture(scope="module")
def float32(tiny_model: str, texts) -> np.ndarray:
    return Encoder(tiny_model, device="cpu", batch_size=4, max_length=48).encode(texts)


@pytest.mark.parametrize(
    "backend, precision, min_cosine",
    [
        ("torch", "bfloat16", 0.999),
        ("onnx", "float32", 0.99999),
        ("openvino", "float32", 0.99999),
        ("openvino", "bfloat16", 0.999),
    ],
)
def test_backend_and_precision_match_float32(
    tiny_model, texts, float32, backend, precision, min_cosine, bf16_cpu
):
    # Given: the tiny model on another runtime or in reduced precision
    encoder = Encoder(
        tiny_model, device="cpu", batch_size=4, max_length=48, backend=backend, precision=precision
    )

    # When
    vectors = encoder.encode(texts)

    # Then: the same vectors, in the same order, up to the precision's rounding
    assert vectors.dtype == np.float32 and vectors.shape == float32.shape
    assert smallest_cosine(vectors, float32) >= min_cosine
    if precision == "float32":
        np.testing.assert_allclose(vectors, float32, atol=1e-4, rtol=0)
    else:
        assert not np.array_equal(vectors, float32)  # the reduced precision is really used


def test_bfloat16_is_not_float32_under_another_name(tiny_model, texts, float32, bf16_cpu):
    encoder = Encoder(tiny_model, device="cpu", max_length=48, precision="bfloat16")
    assert encoder.runtime.precision == "bfloat16"
    assert 0 < np.abs(encoder.encode(texts) - float32).max() < 0.1


@pytest.mark.parametrize("backend, filename", [("openvino", OPENVINO_FILE), ("onnx", ONNX_FILE)])
def test_exported_runtime_files_are_loaded(
    tiny_model, texts, float32, tmp_path, backend, filename, monkeypatch
):
    # Given: an export with the runtime's model file
    encoder = Encoder(tiny_model, device="cpu", max_length=48)
    encoder.save_pretrained(tmp_path, backends=[backend])
    assert (tmp_path / filename).is_file()

    # When: loading the export converts nothing (conversion would fail here)
    def no_conversion(*args, **kwargs):
        raise AssertionError("converted instead of reading the exported file")

    monkeypatch.setattr(runtimes, f"to_{backend}", no_conversion)
    vectors = Encoder(tmp_path, device="cpu", backend=backend).encode(texts)

    # Then
    np.testing.assert_allclose(vectors, float32, atol=1e-4, rtol=0)


def test_bert_with_token_type_ids_on_every_backend(shared_dir):
    # Given: a real BERT model (it takes token_type_ids), float32 torch as the reference
    model = str(shared_dir / "models/all-MiniLM-L6-v2")
    texts = ["A sentence to embed.", "Another, rather different, text: 42 numbers & symbols!"]
    reference = Encoder(model, device="cpu").encode(texts)

    # When / Then
    for backend in ("onnx", "openvino"):
        vectors = Encoder(model, device="cpu", backend=backend).encode(texts)
        assert smallest_cosine(vectors, reference) >= 0.99999, backend


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"backend": "tensorrt"}, ValueError, r"backend must be one of .* got 'tensorrt'"),
        ({"precision": "int4"}, ValueError, r"precision must be one of .* got 'int4'"),
        ({"precision": "int8"}, ValueError, r"precision='int8' runs with backend='openvino'"),
        (
            {"backend": "onnx", "precision": "bfloat16"},
            ValueError,
            "supports precision='float32' only",
        ),
        ({"precision": "float16"}, ValueError, r"float16' with backend='torch' on the CPU"),
        (
            {"backend": "openvino", "device": "cuda"},
            ValueError,
            "runs on the CPU only, got device='cuda'",
        ),
        ({"long_texts": "split"}, ValueError, r"long_texts must be one of .* got 'split'"),
        (
            {"long_texts": "chunk_mean", "chunk_overlap": 48},
            ValueError,
            "chunk_overlap must be .* 47",
        ),
        ({"chunk_overlap": -1}, ValueError, "chunk_overlap must be .* got -1"),
    ],
)
def test_unsupported_options_are_refused(tiny_model, options, error, match):
    with pytest.raises(error, match=match):
        Encoder(tiny_model, **{"device": "cpu", "max_length": 48, **options})


@pytest.mark.parametrize("backend, package", [("openvino", "openvino"), ("onnx", "onnxruntime")])
def test_missing_runtime_package_names_the_extra(tiny_model, monkeypatch, backend, package):
    monkeypatch.setitem(sys.modules, package, None)  # import fails as if not installed
    with pytest.raises(ImportError, match=rf'pip install "declutr\[{backend}\]"'):
        Encoder(tiny_model, device="cpu", backend=backend)


def test_openvino_float16_needs_float16_units(tiny_model):
    import openvino

    capabilities = openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if "FP16" in capabilities:
        pytest.skip("this CPU has float16 units")
    with pytest.raises(ValueError, match="needs a CPU with float16 matrix units"):
        Encoder(tiny_model, device="cpu", backend="openvino", precision="float16")


def test_masked_mean_matches_torch_pooling():
    hidden = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    expected = runtimes.mean_pool(torch.from_numpy(hidden), torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(runtimes.masked_mean(hidden, mask), expected, atol=1e-6)


def test_export_command_writes_runtime_files_and_checks_them(archive_file, texts, tmp_path):
    # Given / When: `declutr export --backend openvino --backend onnx`
    output_dir = tmp_path / "export"
    command = ["export", str(archive_file), "-o", str(output_dir), "--backend", "openvino"]
    result = CliRunner().invoke(app, [*command, "--backend", "onnx"])

    # Then: both files, checked against the archive's vectors
    assert result.exit_code == 0, result.output
    assert "smallest cosine similarity" in result.output
    assert (output_dir / OPENVINO_FILE).is_file() and (output_dir / ONNX_FILE).is_file()
    assert (output_dir / OPENVINO_FILE).with_suffix(".bin").is_file()
    reference = Encoder(archive_file, device="cpu").encode(texts)
    for backend in ("openvino", "onnx"):
        vectors = Encoder(output_dir, device="cpu", backend=backend).encode(texts)
        assert smallest_cosine(vectors, reference) >= 0.99999


def test_embed_command_takes_the_runtime_options(archive_file, tmp_path):
    # Given: a few lines, embedded with the defaults and with OpenVINO in bfloat16, chunk_mean
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("A short line.\n" + DOCUMENTS.read_text(encoding="utf-8"), encoding="utf-8")
    options = ["--backend", "openvino", "--precision", "bfloat16", "--long-texts", "chunk_mean"]

    # When
    for name, extra in (("default", []), ("fast", options)):
        command = ["embed", str(archive_file), str(corpus), "-o", str(tmp_path / f"{name}.npy")]
        result = CliRunner().invoke(app, [*command, *extra])
        assert result.exit_code == 0, result.output

    # Then: the same rows, close to each other; a refused combination fails with its reason
    default, fast = np.load(tmp_path / "default.npy"), np.load(tmp_path / "fast.npy")
    assert default.shape == fast.shape
    assert smallest_cosine(default[:1], fast[:1]) >= 0.999
    command = ["embed", str(archive_file), str(corpus), "-o", str(tmp_path / "x.npy")]
    result = CliRunner().invoke(app, [*command, "--backend", "onnx", "--precision", "bfloat16"])
    assert result.exit_code == 1 and "supports precision='float32' only" in result.output
