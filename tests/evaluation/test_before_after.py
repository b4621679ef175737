"""Held-out scores before and after training: 1-NN accuracy, chance, verdict, and scoring a real
(tiny) DeCLUTR model."""

import json

import numpy as np
import pytest

from declutr.evaluation.before_after import (
    HeldOutScores,
    chance_accuracy,
    one_nn_accuracy,
    score,
    untrained_model,
    verdict,
)
from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE, quickstart_overrides


def test_one_nn_accuracy_leaves_each_document_out():
    vectors = np.array([[1.0, 0.0], [10.0, 1.0], [0.0, 1.0], [0.1, 1.0], [-1.0, -1.0]])
    labels = ["a", "a", "b", "b", "a"]
    # Nearest others: 0->1 (a), 1->0 (a), 2->3 (b), 3->2 (b), 4->0? cos(-1,-1 vs 1,0) = -0.71,
    # vs (0,1) = -0.71, vs (10,1) ~ -0.77, vs (0.1,1) ~ -0.77: a tie broken by the first, row 0
    assert one_nn_accuracy(vectors, labels) == pytest.approx(1.0)
    assert one_nn_accuracy(vectors, ["a", "b", "b", "a", "a"]) == pytest.approx(1 / 5)
    # A row is never its own neighbour, even among identical rows
    assert one_nn_accuracy(np.ones((3, 2)), ["a", "b", "c"]) == 0.0


def test_one_nn_accuracy_validates_its_input():
    with pytest.raises(ValueError, match=r"n >= 2 and n labels, got shape \(1, 2\) and 1"):
        one_nn_accuracy(np.ones((1, 2)), ["a"])
    with pytest.raises(ValueError, match="and 2 labels"):
        one_nn_accuracy(np.ones((3, 2)), ["a", "b"])


def test_chance_is_the_share_of_same_category_others():
    # 2 of 3 "a": an "a" has 1 of 3 others "a", a "b" has 0
    assert chance_accuracy(["a", "a", "b", "c"]) == pytest.approx((1 + 1) / (4 * 3))


def scores(one_nn: float, retrieval: float) -> HeldOutScores:
    return HeldOutScores(one_nn, retrieval, num_documents=100, num_pairs=200, chance=0.2)


@pytest.mark.parametrize(
    "after, start",
    [
        (scores(0.70, 0.60), "Training improved the embeddings: 1-NN category accuracy +20.0"),
        (scores(0.51, 0.49), "No clear change (within 2 points)"),
        (scores(0.60, 0.50), "Training improved the embeddings in part"),
        (scores(0.60, 0.40), "Training made the embeddings worse"),
    ],
)
def test_verdict(after, start):
    line = verdict(scores(0.50, 0.50), after)
    assert line.startswith(start)
    assert "validation retrieval accuracy" in line


def test_score_measures_a_real_model_on_held_out_documents(tiny_model, tmp_path, monkeypatch):
    # Given the 12 fixture documents as held-out articles of two categories
    heldout = tmp_path / "heldout.jsonl"
    lines = DOCUMENTS.read_text(encoding="utf-8").splitlines()
    heldout.write_text(
        "".join(
            json.dumps({"text": t, "category": "ab"[i % 2]}) + "\n" for i, t in enumerate(lines)
        )
    )
    # And the untrained model of the quickstart config over the tiny encoder
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)  # the quickstart config's encoder
    model, reader = untrained_model(CONFIG_ROOT / "quickstart.jsonnet", quickstart_overrides())
    # When it is scored twice
    first, second = score(model, reader, heldout), score(model, reader, heldout)
    # Then every document is embedded and each gives 2 validation pairs, the same each time
    assert (first.num_documents, first.num_pairs) == (12, 24)
    assert first == second
    assert 0 <= first.one_nn_accuracy <= 1 and 0 < first.retrieval_accuracy <= 1
    assert first.chance == pytest.approx(5 / 11)
