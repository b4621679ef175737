"""The comparison's scores (scripts/benchmarks/comparison_eval.py) on hand-made data: the
lexical baseline and the per-item metrics, without a model."""

from pathlib import Path

import numpy as np

from scripts.benchmarks.comparison_eval import TfidfWords, items, scores

DOCUMENTS = Path(__file__).parents[1] / "fixtures" / "documents.txt"


def test_tfidf_words_scores_overlap_and_ignores_unseen_words():
    words = TfidfWords(str(DOCUMENTS))
    first, second = sorted(words.vectorizer.vocabulary_)[:2]  # words of 2 documents or more
    pair = f"{first} {second}"
    vectors = words.encode([pair, pair.upper(), "zzyzx qwvx", first])
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
    assert np.isclose(unit[0] @ unit[1], 1.0)
    assert not vectors[2].any()  # no word of the training documents
    assert 0 < unit[0] @ unit[3] < 1


def test_items_give_perfect_scores_to_an_oracle_and_chance_to_a_constant():
    sts = {"first": ["a b", "c d", "e f"], "second": ["a b", "c x", "y z"], "gold": [5.0, 2.5, 0.0]}
    data = {
        "stsb": sts,
        "sickr": sts,
        "documents": ["a b c", "a b d", "x y z", "x y w"],
        "categories": ["ab", "ab", "xy", "xy"],
        "anchors": ["a b", "x y"],
        "positives": ["a c", "x z"],
    }

    def bag(texts):  # one dimension per letter: overlap is similarity
        letters = sorted({letter for text in texts for letter in text.split()})
        return np.array([[float(letter in text.split()) for letter in letters] for text in texts])

    oracle = scores(items(data, bag))
    assert oracle["stsb"] == oracle["sickr"] == 1.0
    assert oracle["1nn"] == oracle["retrieval"] == 1.0
    constant = scores(items(data, lambda texts: np.ones((len(texts), 3))))
    assert constant["retrieval"] == 0.5  # every anchor retrieves the first positive
