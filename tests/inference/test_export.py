import json
import sys

import numpy as np
import pytest
import torch
from safetensors import safe_open
from transformers import AutoModel, AutoTokenizer
from typer.testing import CliRunner

from declutr import Encoder
from declutr.cli import app
from tests.inference.conftest import MAX_LENGTH

MIN_COSINE = 0.9999


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_export_writes_a_complete_model_directory(exported_dir):
    names = {path.relative_to(exported_dir).as_posix() for path in exported_dir.rglob("*")}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
        "README.md",
    } <= names
    settings = json.loads((exported_dir / "sentence_bert_config.json").read_text())
    assert settings["max_seq_length"] == MAX_LENGTH + 2  # <s> and </s> included
    pooling = json.loads((exported_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]


def test_export_has_no_masked_lm_head(exported_dir):
    with safe_open(str(exported_dir / "model.safetensors"), framework="pt") as weights:
        keys = list(weights.keys())
    assert not any("lm_head" in key for key in keys)
    assert any(key.startswith("encoder.layer.") for key in keys)
    config = json.loads((exported_dir / "config.json").read_text())
    assert config["architectures"] == ["RobertaModel"]


def test_auto_model_loads_every_weight_and_embeds_as_the_predictor(exported_dir, texts, predicted):
    # When: loaded with plain transformers and mean-pooled by hand
    model, info = AutoModel.from_pretrained(exported_dir, output_loading_info=True)
    tokenizer = AutoTokenizer.from_pretrained(exported_dir)
    inputs = tokenizer(
        texts, truncation=True, max_length=MAX_LENGTH + 2, padding=True, return_tensors="pt"
    )
    with torch.inference_mode():
        hidden = model.eval()(**inputs).last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).float()
    embeddings = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy()

    # Then: nothing missing or left over, and the predictor's vectors
    assert all(not problems for problems in info.values()), info
    assert _cosines(embeddings, predicted).min() >= MIN_COSINE
    np.testing.assert_allclose(embeddings, predicted, atol=1e-5, rtol=0)


def test_sentence_transformers_embeds_as_the_predictor(exported_dir, texts, predicted):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    model = sentence_transformers.SentenceTransformer(str(exported_dir), device="cpu")

    embeddings = model.encode(texts, batch_size=3)

    assert model.max_seq_length == MAX_LENGTH + 2
    assert _cosines(embeddings, predicted).min() >= MIN_COSINE
    np.testing.assert_allclose(embeddings, predicted, atol=1e-5, rtol=0)


def test_model_card_records_base_model_config_and_data(exported_dir, tiny_model):
    card = (exported_dir / "README.md").read_text(encoding="utf-8")
    assert f"Base model: `{tiny_model}`" in card
    assert "Training data: `" in card and "documents.txt" in card
    assert '"max_span_len": 32' in card and '"type": "declutr"' in card
    assert "library_name: sentence-transformers" in card


def test_export_needs_no_sentence_transformers(encoder, tmp_path, monkeypatch):
    # Given: sentence-transformers cannot be imported
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)

    encoder.save_pretrained(tmp_path / "out")

    assert (tmp_path / "out" / "modules.json").is_file()
    np.testing.assert_allclose(
        Encoder(tmp_path / "out", device="cpu").encode(["Some text."]),
        encoder.encode(["Some text."]),
        atol=1e-5,
    )


def test_export_command_errors(archive_file, exported_dir, tmp_path):
    missing = CliRunner().invoke(
        app, ["export", str(tmp_path / "missing.tar.gz"), "-o", str(tmp_path / "out")]
    )
    assert missing.exit_code == 1 and "No archive" in missing.output
    not_empty = CliRunner().invoke(app, ["export", str(archive_file), "-o", str(exported_dir)])
    assert not_empty.exit_code == 1 and "not empty; pass --force" in not_empty.output
