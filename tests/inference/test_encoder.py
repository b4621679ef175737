import json
import shutil
import sys
import tracemalloc
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch
from allennlp.commands import main as allennlp_main
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor
from transformers import AutoModelForMaskedLM, AutoTokenizer

from declutr import Encoder
from tests import FIXTURES_ROOT
from tests.inference.conftest import MAX_LENGTH, train

ATOL = 1e-5


@pytest.mark.parametrize("source", ["archive_file", "serialization_dir", "exported_dir"])
def test_every_source_embeds_as_the_predictor(source, request, texts, predicted):
    # Given: an archive, its serialization directory, or the directory exported from it
    encoder = Encoder(request.getfixturevalue(source), device="cpu", batch_size=2)

    # When
    embeddings = encoder.encode(texts)

    # Then: the predictor's vectors, in input order
    assert encoder.max_length == MAX_LENGTH
    assert embeddings.dtype == np.float32 and embeddings.shape == predicted.shape
    np.testing.assert_allclose(embeddings, predicted, atol=ATOL, rtol=0)


def test_plain_transformer_embedder(tiny_model, texts, tmp_path):
    # Given: a model trained without masked LM, so with allennlp's "pretrained_transformer"
    config = FIXTURES_ROOT / "configs" / "contrastive_only.jsonnet"
    overrides = {"dataset_reader.max_length": 48}
    archive = train(config, tiny_model, tmp_path / "model", **overrides) / "model.tar.gz"
    predictor = Predictor.from_archive(load_archive(str(archive)), "declutr")

    # When
    encoder = Encoder(archive, device="cpu")
    embeddings = encoder.encode(texts)

    # Then
    predicted = np.array([predictor.predict(text)["embeddings"] for text in texts])
    np.testing.assert_allclose(embeddings, predicted, atol=ATOL, rtol=0)
    embedder = encoder.training_config["model"]["text_field_embedder"]["token_embedders"]["tokens"]
    assert embedder["type"] == "pretrained_transformer" and encoder.max_length == 48


def test_hugging_face_directory_mean_pools_the_encoder(tiny_model, texts):
    # Given: a plain Hugging Face masked LM (no sentence-transformers files)
    encoder = Encoder(tiny_model, device="cpu")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    base = AutoModelForMaskedLM.from_pretrained(tiny_model).base_model.eval()

    # When
    embeddings = encoder.encode(texts)

    # Then: the masked mean of the base model's last hidden states, one text at a time
    assert encoder.max_length == tokenizer.model_max_length - 2  # the reader's default
    for text, embedding in zip(texts, embeddings):
        inputs = tokenizer(
            text, truncation=True, max_length=encoder.max_length + 2, return_tensors="pt"
        )
        with torch.no_grad():
            expected = base(**inputs).last_hidden_state[0].mean(dim=0).numpy()
        np.testing.assert_allclose(embedding, expected, atol=ATOL, rtol=0)


def test_token_ids_are_the_readers(encoder, archive_file, texts):
    reader = load_archive(str(archive_file)).dataset_reader
    long_text = " ".join(texts) * 3
    with reader.no_sample():
        for text in texts + [long_text, " leading and trailing spaces "]:
            instance = reader.text_to_instance(text)
            expected = [token.text_id for token in instance["anchors"].tokens]
            assert encoder.token_ids(text) == expected
    assert len(encoder.token_ids(long_text)) == MAX_LENGTH + 2


def test_one_string_gives_a_vector(encoder, texts, predicted):
    vector = encoder.encode(texts[0])
    assert vector.shape == (encoder.dim,) and vector.dtype == np.float32
    np.testing.assert_allclose(vector, predicted[0], atol=ATOL, rtol=0)


def test_batching_and_sorting_keep_input_order(encoder, texts):
    one_by_one = np.stack([encoder.encode(text) for text in texts])
    for batch_size in (1, 2, len(texts)):
        np.testing.assert_allclose(
            encoder.encode(texts, batch_size=batch_size), one_by_one, atol=ATOL, rtol=0
        )
    np.testing.assert_allclose(encoder.encode(texts[::-1]), one_by_one[::-1], atol=ATOL, rtol=0)


def test_empty_list(encoder):
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_normalize(encoder, texts, predicted):
    embeddings = encoder.encode(texts, normalize=True)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-6)
    expected = predicted / np.linalg.norm(predicted, axis=1, keepdims=True)
    np.testing.assert_allclose(embeddings, expected, atol=ATOL, rtol=0)


def test_max_length_override_truncates(archive_file, texts, encoder):
    short = Encoder(archive_file, device="cpu", max_length=8)
    assert len(short.token_ids(texts[1])) == 8 + 2
    np.testing.assert_allclose(short.encode(texts[0]), encoder.encode(texts[0]), atol=ATOL)
    assert not np.allclose(short.encode(texts[1]), encoder.encode(texts[1]), atol=1e-3)


def test_file_handles_and_generators_stream(encoder, texts, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    expected = encoder.encode(texts)
    with open(path, encoding="utf-8") as handle:
        np.testing.assert_allclose(encoder.encode(handle), expected, atol=ATOL, rtol=0)
    generated = (text for text in texts)
    np.testing.assert_allclose(encoder.encode(generated), expected, atol=ATOL, rtol=0)


def test_encode_file_writes_npy_rows_in_line_order(encoder, texts, tmp_path):
    lines = [text for text in texts if text]
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n", encoding="utf-8")

    assert encoder.encode_file(path, tmp_path / "out.npy") == len(lines) + 1

    array = np.load(tmp_path / "out.npy")
    assert array.dtype == np.float32 and array.shape == (len(lines) + 1, encoder.dim)
    np.testing.assert_allclose(array, encoder.encode(lines[:2] + [""] + lines[2:]), atol=ATOL)
    assert not (tmp_path / "out.npy.partial").exists()


def test_encode_file_jsonl_equals_allennlp_predict(
    encoder, archive_file, texts, tmp_path, monkeypatch
):
    # Given: JSON lines input, embedded by the `allennlp predict` command itself
    input_path = tmp_path / "input.jsonl"
    input_path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    predicted_path = tmp_path / "predicted.jsonl"
    argv = ["allennlp", "predict", str(archive_file), str(input_path), "--predictor", "declutr"]
    argv += ["--output-file", str(predicted_path), "--silent", "--cuda-device", "-1"]
    monkeypatch.setattr(sys, "argv", argv + ["--include-package", "declutr"])
    allennlp_main()

    # When
    encoder.encode_file(input_path, tmp_path / "encoded.jsonl")

    # Then
    predicted = _read_embeddings(predicted_path)
    encoded = _read_embeddings(tmp_path / "encoded.jsonl")
    np.testing.assert_allclose(encoded, predicted, atol=ATOL, rtol=0)


def _read_embeddings(path: Path) -> np.ndarray:
    lines = path.read_text(encoding="utf-8").splitlines()
    return np.array([json.loads(line)["embeddings"] for line in lines])


def test_encode_file_empty_input(encoder, tmp_path):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    assert encoder.encode_file(tmp_path / "empty.txt", tmp_path / "out.npy") == 0
    assert np.load(tmp_path / "out.npy").shape == (0, encoder.dim)


def test_encode_file_errors(encoder, tmp_path):
    (tmp_path / "in.txt").write_text("text\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"must end in \.npy .* or \.jsonl"):
        encoder.encode_file(tmp_path / "in.txt", tmp_path / "out.csv")
    with pytest.raises(FileNotFoundError, match="No input file"):
        encoder.encode_file(tmp_path / "missing.txt", tmp_path / "out.npy")


def _peak_memory(encoder: Encoder, lines: List[str], tmp_path: Path) -> int:
    path = tmp_path / f"{len(lines)}.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tracemalloc.start()
    encoder.encode_file(path, tmp_path / f"{len(lines)}.npy", batch_size=2)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_encode_file_memory_stays_flat(archive_file, texts, tmp_path, monkeypatch):
    # Given: the real reading, tokenizing, sorting and writing, but a stand-in forward pass (one
    # batch at a time by construction; tracing every allocation of the real one is slow)
    encoder = Encoder(archive_file, device="cpu")
    monkeypatch.setattr(
        encoder.runtime,
        "pooled",
        lambda batches: [torch.ones(len(batch["input_ids"]), encoder.dim) for batch in batches],
    )
    lines = [text for text in texts if text] * 30

    # When: chunks hold batch_size * CHUNK_BATCHES = 64 texts
    small = _peak_memory(encoder, lines, tmp_path)
    large = _peak_memory(encoder, lines * 8, tmp_path)

    # Then: 8 times the input, the same peak
    assert large < 1.5 * small
    assert np.load(tmp_path / f"{len(lines) * 8}.npy", mmap_mode="r").shape == (len(lines) * 8, 32)


def test_missing_and_invalid_sources(tmp_path, serialization_dir):
    with pytest.raises(FileNotFoundError, match="No file or directory ./no-such-model"):
        Encoder("./no-such-model")
    with pytest.raises(FileNotFoundError, match="No file or directory .*model.tar.gz"):
        Encoder(tmp_path / "model.tar.gz")
    (tmp_path / "not-an-archive.tar.gz").write_text("text", encoding="utf-8")
    with pytest.raises(ValueError, match="Cannot load the AllenNLP archive"):
        Encoder(tmp_path / "not-an-archive.tar.gz")
    with pytest.raises(FileNotFoundError, match="directory without a config.json"):
        Encoder(tmp_path)
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(serialization_dir / "config.json", unfinished)
    with pytest.raises(FileNotFoundError, match="without weights"):
        Encoder(unfinished)


def test_invalid_arguments(archive_file, encoder):
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        Encoder(archive_file, batch_size=0)
    with pytest.raises(ValueError, match="max_length must be a positive integer, got -1"):
        Encoder(archive_file, max_length=-1)
    with pytest.raises(TypeError, match="Texts must be strings; text 1 is 3"):
        encoder.encode(["text", 3])


def test_other_pooling_is_refused(serialization_dir, tmp_path):
    # Given: the same model configured to sum rather than average
    copy = tmp_path / "summing"
    shutil.copytree(serialization_dir, copy, ignore=shutil.ignore_patterns("*.tar.gz", "*state*"))
    config = json.loads((copy / "config.json").read_text(encoding="utf-8"))
    config["model"]["seq2vec_encoder"] = {"type": "bag_of_embeddings", "embedding_dim": 32}
    (copy / "config.json").write_text(json.dumps(config), encoding="utf-8")

    with pytest.raises(ValueError, match="Encoder computes masked mean pooling only"):
        Encoder(copy)
