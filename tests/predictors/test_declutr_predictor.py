import json

import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from tests import DOCUMENTS, FIXTURES_ROOT


@pytest.fixture(scope="module")
def predictor(tiny_model, tmp_path_factory, request):
    monkeypatch = pytest.MonkeyPatch()
    request.addfinalizer(monkeypatch.undo)
    monkeypatch.setenv("DECLUTR_TEST_MODEL", tiny_model)
    monkeypatch.setenv("DECLUTR_TEST_DOCUMENTS", str(DOCUMENTS))
    out = tmp_path_factory.mktemp("predictor") / "out"
    train_model_from_file(str(FIXTURES_ROOT / "configs" / "feedforward.jsonnet"), str(out))
    return Predictor.from_archive(load_archive(out / "model.tar.gz"), "declutr")


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
