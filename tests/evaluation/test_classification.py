import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_score

from declutr.evaluation.classification import (
    C_GRID,
    SEED,
    SENTEVAL_C_GRID,
    SENTEVAL_KFOLD,
    cross_validated_accuracy,
    evaluate_classification,
    evaluate_cross_validation,
    evaluate_pair_classification,
    fit_selected,
    hold_out,
    pair_features,
    select_c,
    senteval_kfold_classifier,
    senteval_order,
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


def test_pair_features_are_sentevals_difference_and_product():
    # Given two pairs of 2-dimensional embeddings
    u = np.array([[1.0, -2.0], [0.5, 0.0]])
    v = np.array([[3.0, 4.0], [0.5, -1.0]])
    # When / Then the features are SentEval's MRPC ones, [|u - v|, u * v]
    np.testing.assert_array_equal(pair_features(u, v), [[2, 6, 3, -8], [0, 1, 0.25, -0]])


def test_sentevals_mrpc_settings():
    # Given / When / Then: C in 2^-1..2^5, 10 folds, seed 1111 (SentEval's KFoldClassifier)
    assert SENTEVAL_C_GRID == (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    assert SENTEVAL_KFOLD == 10 and SEED == 1111


def noisy_pairs(num_train: int, num_test: int, seed: int = 0):
    """Labels carried weakly by 1 of 12 raw features: how much C regularises changes the
    cross-validated accuracy, so choosing C matters."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, num_train + num_test)
    features = rng.standard_normal((len(labels), 12))
    features[:, 0] += 0.7 * labels
    return (features[:num_train], labels[:num_train]), (features[num_train:], labels[num_train:])


def test_senteval_kfold_classifier_picks_the_best_cross_validated_c_and_refits_on_train():
    # Given training data where C changes the cross-validated accuracy, and a wide grid
    train, (test_x, _) = noisy_pairs(60, 200)
    grid = (1e-4, 1e-2, 1.0, 100.0)
    # When SentEval's k-fold classifier runs
    predicted, choice = senteval_kfold_classifier(train, test_x, grid, kfold=10, seed=1111)
    # Then each C's accuracy is its mean over stratified, shuffled 10-fold splits seeded 1111
    # (computed here by scikit-learn's cross_val_score)
    folds = StratifiedKFold(10, shuffle=True, random_state=1111)
    expected = {
        c: cross_val_score(LogisticRegression(C=c, random_state=1111), *train, cv=folds).mean()
        for c in grid
    }
    assert choice["cv_accuracies"] == pytest.approx(expected)
    assert len({round(100 * accuracy, 2) for accuracy in expected.values()}) > 1
    # And the chosen C is the first of the best, compared as SentEval rounds them
    rounded = [round(100 * expected[c], 2) for c in grid]
    assert choice["C"] == grid[rounded.index(max(rounded))]
    assert choice["validation_accuracy"] == pytest.approx(expected[choice["C"]])
    # And the test predictions come from that C refitted on all of the training data
    refitted = LogisticRegression(C=choice["C"], random_state=1111).fit(*train)
    np.testing.assert_array_equal(predicted, refitted.predict(test_x))


def test_senteval_kfold_classifier_prefers_the_smallest_of_tied_cs():
    # Given separable data, where every C of SentEval's grid is perfect in every fold
    features, labels = blobs(20, spread=0.05)
    # When / Then the smallest C (2^-1, SentEval's first) is chosen
    _, choice = senteval_kfold_classifier((features, labels), features, seed=0)
    assert choice["C"] == 0.5 and choice["validation_accuracy"] == 1.0


def test_senteval_order_sorts_by_word_counts_then_label_keeping_file_order_on_ties():
    # Given pairs with word counts (2, 1), (1, 2), (1, 1), (1, 1) and labels 1, 0, 1, 0
    pairs = LabelledPairs(["a b", "c", "d", "e"], ["x", "y z", "w", "v"], np.array([1, 0, 1, 0]))
    # When / Then they are ordered as SentEval's MRPC sorts them before classifying
    assert senteval_order(pairs) == [3, 2, 1, 0]
    tied = LabelledPairs(["a", "b", "c"], ["x", "y", "z"], np.array([0, 0, 0]))
    assert senteval_order(tied) == [0, 1, 2]


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

    result = evaluate_pair_classification(data, embed)

    assert result["accuracy"] == 1.0 and result["f1"] == 1.0
    assert result["details"]["validation"] == "10-fold cross-validation on train (SentEval's)"
    assert set(result["details"]["cv_accuracies"]) == set(SENTEVAL_C_GRID)
    assert result["details"]["C"] in SENTEVAL_C_GRID


def test_mrpc_is_sentevals_kfold_classifier_on_the_sorted_training_pairs():
    # Given MRPC-like data whose pairs differ in length, and an embedding of each text
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(40)]
    first = [" ".join(rng.choice(words, rng.integers(1, 6))) for _ in range(80)]
    second = [" ".join(rng.choice(words, rng.integers(1, 6))) for _ in range(80)]
    labels = rng.integers(0, 2, 80)
    vectors = {text: rng.standard_normal(6) for text in set(first + second)}
    data = {
        "train": LabelledPairs(first[:60], second[:60], labels[:60]),
        "test": LabelledPairs(first[60:], second[60:], labels[60:]),
    }
    # When MRPC is scored
    result = evaluate_pair_classification(data, lookup(vectors))
    # Then it is SentEval's classifier on [|u - v|, u * v] of the training pairs in SentEval's
    # order, scored on the test pairs
    embed = lookup(vectors)
    order = senteval_order(data["train"])
    train_x = pair_features(embed(first[:60]), embed(second[:60]))[order]
    test_x = pair_features(embed(first[60:]), embed(second[60:]))
    predicted, choice = senteval_kfold_classifier((train_x, labels[:60][order]), test_x)
    assert result["details"]["cv_accuracies"] == choice["cv_accuracies"]
    assert result["details"]["C"] == choice["C"]
    assert result["accuracy"] == pytest.approx(np.mean(predicted == labels[60:]))
    assert result["f1"] == pytest.approx(f1_score(labels[60:], predicted))
    # And the order matters: in file order the folds hold other pairs
    unsorted = pair_features(embed(first[:60]), embed(second[:60]))
    _, in_file_order = senteval_kfold_classifier((unsorted, labels[:60]), test_x)
    assert in_file_order["cv_accuracies"] != choice["cv_accuracies"]


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
