"""int8 (declutr/inference/quantize.py): an OpenVINO model quantized by NNCF on the user's
texts, written where sentence-transformers looks for its static int8 export, read by `Encoder`
with `precision="int8"`, and refused with the way out where it cannot run."""

import numpy as np
import pytest
from typer.testing import CliRunner

from declutr import Encoder
from declutr.cli import app
from declutr.inference import choice
from declutr.inference.quantize import INT8_OPENVINO_FILE, calibration_sample, save_int8
from tests import DOCUMENTS

pytest.importorskip("nncf")


@pytest.fixture(scope="module")
def int8_dir(archive_file, tmp_path_factory):
    output = tmp_path_factory.mktemp("int8") / "export"
    command = ["export", str(archive_file), "-o", str(output), "--backend", "openvino"]
    result = CliRunner().invoke(app, [*command, "--int8-calibration", str(DOCUMENTS)])
    assert result.exit_code == 0, result.output
    assert "Wrote the int8 model openvino/openvino_model_qint8_quantized.xml" in result.output
    return output


def test_the_int8_model_is_quantized_and_embeds_close_to_float32(int8_dir, texts):
    # Given the export's float32 torch vectors
    float32 = Encoder(int8_dir, device="cpu", backend="torch", precision="float32")
    int8 = Encoder(int8_dir, device="cpu", backend="openvino", precision="int8")

    # Then the int8 model holds quantized matrix products, and its vectors stay close
    import openvino

    model = openvino.Core().read_model(str(int8_dir / INT8_OPENVINO_FILE))
    assert any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
    vectors, reference = int8.encode(texts), float32.encode(texts)
    assert vectors.shape == reference.shape and np.isfinite(vectors).all()
    assert choice.min_cosine(vectors, reference) > 0.9
    # but they are not float32's under another name
    assert not np.allclose(vectors, reference, atol=1e-5)
    assert int8.runtime_choice.chosen_by == "forced"


def test_int8_is_refused_where_it_cannot_run(archive_file, int8_dir, auto_runtime):
    with pytest.raises(ValueError, match="has none.*--int8-calibration"):
        Encoder(archive_file, device="cpu", backend="openvino", precision="int8")
    with pytest.raises(ValueError, match="backend='openvino'"):
        Encoder(int8_dir, device="cpu", backend="torch", precision="int8")
    # precision int8 alone picks the only backend that runs it
    encoder = Encoder(int8_dir, device="cpu", precision="int8")
    assert (encoder.backend, encoder.precision) == ("openvino", "int8")


def test_calibration_needs_texts_and_samples_them(encoder, tmp_path):
    with pytest.raises(ValueError, match="at least 10 non-blank texts"):
        save_int8(encoder, tmp_path, ["one", " ", "two"])
    texts = [f"text {index}" for index in range(1000)]
    sample = calibration_sample(texts, 300)
    assert len(sample) == 300 == len(set(sample)) and sample == calibration_sample(texts, 300)
    assert calibration_sample(texts[:5] + [""], 300) == texts[:5]
