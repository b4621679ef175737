import json

import numpy as np
import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from tests import DOCUMENTS, FIXTURES_ROOT


@pytest.fixture(scope="module")
def archive(tiny_model, tmp_path_factory, request):
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    monkeypatch.setenv("DECLUTR_TEST_MODEL", tiny_model)
    monkeypatch.setenv("DECLUTR_TEST_DOCUMENTS", str(DOCUMENTS))
    out = tmp_path_factory.mktemp("predictor") / "out"
    train_model_from_file(str(FIXTURES_ROOT / "configs" / "feedforward.jsonnet"), str(out))
    return out / "model.tar.gz"


@pytest.fixture(scope="module")
def predictor(archive):
    return Predictor.from_archive(load_archive(archive), "declutr")


def test_the_archive_defaults_to_this_predictor(predictor):
    assert type(predictor).__name__ == "DeCLUTRPredictor"


def test_predicts_embeddings_of_whole_texts_without_overrides(predictor):
    # Given an archive whose reader samples spans (2 anchors of 8..32 tokens)
    # When short texts, shorter than any sampling minimum, are embedded
    outputs = predictor.predict_batch_json([{"text": "one"}, {"text": "two words"}])
    # Then each gets its pooled embedding and its projection, in input order
    assert [sorted(o) for o in outputs] == [["embeddings", "projections"]] * 2
    assert len(outputs[0]["embeddings"]) == 32 and len(outputs[0]["projections"]) == 16
    single = predictor.predict("two words")
    assert single["embeddings"] == pytest.approx(outputs[1]["embeddings"], abs=1e-5)


def test_output_lines_are_json_with_embeddings(predictor):
    line = predictor.dump_line(predictor.predict("a text"))
    assert line.endswith("\n") and "embeddings" in json.loads(line)


@pytest.mark.parametrize("bad", [{"txt": "typo"}, {"text": 3}, ["text"]])
def test_inputs_without_a_string_text_are_refused(predictor, bad):
    with pytest.raises(ValueError, match='string "text"'):
        predictor.predict_json(bad)


@pytest.mark.parametrize(
    "settings, min_cosine",
    [
        ({"precision": "bfloat16"}, 0.999),
        ({"backend": "onnx"}, 0.99999),
        ({"backend": "openvino", "precision": "bfloat16"}, 0.999),
    ],
)
def test_predictor_args_choose_precision_and_backend(
    archive, predictor, settings, min_cosine, bf16_cpu
):
    # Given: the predictor with other settings, as `--predictor-args` passes them
    fast = Predictor.from_archive(load_archive(archive), "declutr", extra_args=settings)
    inputs = [{"text": text} for text in ["one", "", DOCUMENTS.read_text().splitlines()[0]]]

    # When
    outputs = fast.predict_batch_json(inputs)

    # Then: the default predictor's embeddings, up to the precision's rounding
    expected = np.array([output["embeddings"] for output in predictor.predict_batch_json(inputs)])
    vectors = np.array([output["embeddings"] for output in outputs])
    cosines = np.sum(vectors * expected, 1) / np.linalg.norm(vectors, axis=1)
    assert np.min(cosines / np.linalg.norm(expected, axis=1)) >= min_cosine
    # One text alone is padded differently from in a batch: bfloat16 rounds differently.
    tol = 1e-3 if settings.get("precision") == "bfloat16" else 1e-5
    assert fast.predict("one")["embeddings"] == pytest.approx(outputs[0]["embeddings"], abs=tol)
    assert fast.truncated == 1


def test_predictor_chunk_mean_skips_and_refuses_instances(archive):
    settings = {"long_texts": "chunk_mean", "skip_invalid": True}
    predictor = Predictor.from_archive(load_archive(archive), "declutr", extra_args=settings)
    outputs = predictor.predict_batch_json(
        [{"text": DOCUMENTS.read_text().splitlines()[0]}, {"txt": "typo"}]
    )
    assert len(outputs[0]["embeddings"]) == 32 and predictor.truncated == 0
    assert outputs[1]["embeddings"] is None and 'string "text"' in outputs[1]["error"]
    instance = predictor._dataset_reader.text_to_instance("a text")
    with pytest.raises(ValueError, match="--use-dataset-reader .* default precision"):
        predictor.predict_instance(instance)


def test_predictor_refuses_unsupported_settings(archive):
    with pytest.raises(ValueError, match="supports precision='float32' only"):
        settings = {"backend": "onnx", "precision": "float16"}
        Predictor.from_archive(load_archive(archive), "declutr", extra_args=settings)


def test_with_the_automatic_runtime_a_feedforward_model_keeps_its_projections(
    archive, predictor, auto_runtime
):
    # Given the users' default ("auto") and a model with a feedforward
    chosen = Predictor.from_archive(load_archive(archive), "declutr")
    # Then the model's own forward answers: projections too, the same embeddings
    output = chosen.predict("two words")
    assert sorted(output) == ["embeddings", "projections"]
    assert output["embeddings"] == pytest.approx(predictor.predict("two words")["embeddings"])
