"""`long_texts="chunk_mean"` against a hand computation with the plain Hugging Face model."""

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from declutr import Encoder
from declutr.inference.long_texts import token_windows, weighted_mean
from tests import DOCUMENTS

MAX_LENGTH = 16


@pytest.mark.parametrize(
    "length, size, overlap, expected",
    [
        (10, 4, 1, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]),
        (5, 4, 0, [[0, 1, 2, 3], [4]]),
        (4, 4, 2, [[0, 1, 2, 3]]),  # a window inside the previous one is dropped
        (7, 4, 2, [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6]]),
        (0, 4, 0, [[]]),
    ],
)
def test_token_windows(length, size, overlap, expected):
    assert token_windows(list(range(length)), size, overlap) == expected


def test_weighted_mean():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], dtype=np.float32)
    result = weighted_mean(vectors, owners=[0, 0, 1], weights=[3, 1, 5], num_texts=2)
    np.testing.assert_allclose(result, [[0.75, 0.25], [2.0, 2.0]])


def hand_chunk_mean(model_dir: str, text: str, size: int, overlap: int) -> np.ndarray:
    """Cut the text's ids into windows by hand, embed each with the plain model, and average
    the windows' mean-pooled vectors weighted by their token counts."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    starts = list(range(0, len(ids), size - overlap))
    while len(starts) > 1 and len(ids) - starts[-1] <= overlap:
        starts.pop()
    vectors, weights = [], []
    for start in starts:
        window = tokenizer.build_inputs_with_special_tokens(ids[start : start + size])
        with torch.no_grad():
            hidden = model(input_ids=torch.tensor([window])).last_hidden_state[0]
        vectors.append(hidden.mean(0).numpy())
        weights.append(len(window))
    return np.average(np.array(vectors), axis=0, weights=weights)


@pytest.mark.parametrize("overlap", [0, 5])
def test_chunk_mean_equals_the_hand_computation(tiny_model, overlap):
    # Given: texts longer than the window (several windows each) and a short one
    documents = DOCUMENTS.read_text(encoding="utf-8").splitlines()
    texts = [documents[0], "A short text.", documents[2][:400]]
    encoder = Encoder(
        tiny_model,
        device="cpu",
        batch_size=3,
        max_length=MAX_LENGTH,
        long_texts="chunk_mean",
        chunk_overlap=overlap,
    )

    # When
    vectors = encoder.encode(texts)

    # Then: each text's weighted window mean, in input order, and nothing truncated
    for text, vector in zip(texts, vectors):
        expected = hand_chunk_mean(tiny_model, text, MAX_LENGTH, overlap)
        np.testing.assert_allclose(vector, expected, atol=1e-5, rtol=0)
    assert encoder.truncated == 0
    truncating = Encoder(tiny_model, device="cpu", max_length=MAX_LENGTH)
    np.testing.assert_allclose(vectors[1], truncating.encode(texts[1]), atol=1e-6)
    assert not np.allclose(vectors[0], truncating.encode(texts[0]), atol=1e-3)


def test_chunk_mean_normalizes_the_average_and_keeps_skipped_rows(tiny_model):
    encoder = Encoder(tiny_model, device="cpu", max_length=MAX_LENGTH, long_texts="chunk_mean")
    document = DOCUMENTS.read_text(encoding="utf-8").splitlines()[1]
    vectors = encoder.encode([document, None, ""], normalize=True, on_error="skip")
    np.testing.assert_allclose(np.linalg.norm(vectors[[0, 2]], axis=1), 1.0, atol=1e-5)
    assert np.isnan(vectors[1]).all()
