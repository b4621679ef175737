import numpy as np
import pytest
from sklearn.metrics import f1_score

from declutr.evaluation.classification import (
    C_GRID,
    cross_validated_accuracy,
    evaluate_classification,
    evaluate_cross_validation,
    evaluate_pair_classification,
    fit_selected,
    hold_out,
    pair_features,
    select_c,
)
from declutr.evaluation.embedding import embed_distinct
from declutr.evaluation.tasks import TASKS, LabelledPairs, LabelledTexts, texts_of
from tests.evaluation.conftest import lookup


def blobs(num_per_class: int, num_classes: int = 2, spread: float = 0.3, seed: int = 0):
    """Gaussian clusters around the basis vectors of an 8-dimensional space."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_classes), num_per_class)
    features = np.eye(8)[labels] + spread * rng.standard_normal((len(labels), 8))
    return features.astype(np.float32), labels


def test_pair_features_are_u_v_difference_product():
    u = np.array([[1.0, -2.0]])
    v = np.array([[3.0, 4.0]])
    np.testing.assert_array_equal(pair_features(u, v), [[1, -2, 3, 4, 2, 6, 3, -8]])


def test_select_c_prefers_the_smallest_of_equally_good_values():
    train, valid = blobs(20, seed=0), blobs(10, seed=1)
    c, accuracy = select_c(train, valid, [10.0, 0.1, 1.0], seed=0)
    assert (c, accuracy) == (0.1, 1.0)


def test_select_c_picks_the_best_value():
    # Given: overlapping classes in 2 of 8 dimensions, 6 noise dimensions and few examples:
    # strong regularisation helps, weak regularisation overfits the noise
    rng = np.random.default_rng(0)

    def sample(n):
        labels = rng.integers(0, 2, n)
        features = rng.standard_normal((n, 8))
        features[:, 0] += 0.8 * labels
        return features, labels

    train, valid = sample(24), sample(2000)
    c, accuracy = select_c(train, valid, [1e-4, 1e-2, 1e4], seed=0)
    accuracies = {}
    for candidate in [1e-4, 1e-2, 1e4]:
        _, accuracies[candidate] = select_c(train, valid, [candidate], seed=0)
    assert accuracy == max(accuracies.values()) and accuracies[c] == accuracy


def test_hold_out_is_stratified_and_seeded():
    features, labels = blobs(50, num_classes=2)
    (train_x, train_y), (valid_x, valid_y) = hold_out(features, labels, seed=3)
    assert len(valid_y) == 10 and np.bincount(valid_y).tolist() == [5, 5]
    assert len(train_y) == 90
    (_, again_y), _ = hold_out(features, labels, seed=3)
    np.testing.assert_array_equal(train_y, again_y)
    # A class with a single example cannot be stratified: the split is plain.
    (_, plain_train), (_, plain_valid) = hold_out(features[:51], labels[:51], seed=3)
    assert len(plain_train) + len(plain_valid) == 51


def test_fit_selected_reports_the_choice():
    features, labels = blobs(30)
    model, selection = fit_selected(features, labels, C_GRID, seed=0)
    assert selection["C"] in C_GRID and selection["validation_accuracy"] == 1.0
    assert model.score(features, labels) == 1.0
    _, single = fit_selected(features, labels, [0.5], seed=0)
    assert single == {"C": 0.5, "validation_accuracy": None}


def test_cross_validated_accuracy_is_seeded():
    features, labels = blobs(30, num_classes=3, spread=0.9)

    result = cross_validated_accuracy(features, labels, folds=5, seed=7)

    assert 0.5 < result["accuracy"] <= 1.0
    details = result["details"]
    assert len(details["fold_accuracies"]) == 5 and details["folds"] == 5
    assert result["accuracy"] == pytest.approx(np.mean(details["fold_accuracies"]))
    assert set(details["C"]) <= set(C_GRID) and details["num_examples"] == 90
    assert cross_validated_accuracy(features, labels, folds=5, seed=7) == result


def test_binary_tasks_are_10_fold_cross_validated(senteval_dir, bag_of_words):
    data = TASKS["MR"].read(senteval_dir)
    embed = embed_distinct(bag_of_words, texts_of(data))

    result = evaluate_cross_validation(data, embed, seed=0)

    assert result["accuracy"] > 0.85 and len(result["details"]["fold_accuracies"]) == 10


def test_sst2_selects_c_on_dev_and_trec_on_held_out_train(senteval_dir, bag_of_words):
    for name, validation in (("SST2", "dev"), ("TREC", "held-out 10% of train")):
        data = TASKS[name].read(senteval_dir)
        embed = embed_distinct(bag_of_words, texts_of(data))

        result = evaluate_classification(data, embed, seed=0)

        assert result["accuracy"] == 1.0, name
        assert result["details"]["validation"] == validation
        assert result["details"]["num_test"] == len(data["test"].labels)


def test_classification_accuracy_is_test_accuracy():
    # Given: a test split whose labels are the opposite of what training teaches
    train = LabelledTexts(["good", "bad"] * 5, np.array([1, 0] * 5))
    test = LabelledTexts(["good", "bad", "good"], np.array([0, 1, 1]))
    vectors = {"good": [1.0, 0.0], "bad": [0.0, 1.0]}

    result = evaluate_classification({"train": train, "test": test}, lookup(vectors), [1.0])

    assert result["accuracy"] == pytest.approx(1 / 3)
    assert result["validation_accuracy"] is None
    assert result["details"]["validation"] == "none (a single C)"


def test_mrpc_reports_accuracy_and_f1(senteval_dir, bag_of_words):
    data = TASKS["MRPC"].read(senteval_dir)
    embed = embed_distinct(bag_of_words, texts_of(data))

    result = evaluate_pair_classification(data, embed, seed=0)

    assert result["accuracy"] == 1.0 and result["f1"] == 1.0
    assert result["details"]["validation"] == "held-out 10% of train"


def test_mrpc_f1_is_of_the_positive_class():
    # Given: pairs labelled 1 when both texts are the same word; the last two test labels are
    # flipped, so the classifier gets those two wrong
    vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0]}
    first, second = ["a", "a", "b", "b"], ["a", "b", "a", "b"]
    data = {
        "train": LabelledPairs(first * 5, second * 5, np.array([1, 0, 0, 1] * 5)),
        "test": LabelledPairs(first, second, np.array([1, 0, 1, 0])),
    }

    result = evaluate_pair_classification(data, lookup(vectors), [1.0])

    # Then: predictions [1, 0, 0, 1]: one true positive, one false positive, one false negative
    assert result["accuracy"] == 0.5
    assert result["f1"] == pytest.approx(f1_score([1, 0, 1, 0], [1, 0, 0, 1])) == 0.5
