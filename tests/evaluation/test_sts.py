import math

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from declutr.evaluation.sts import (
    correlations,
    cosine_similarities,
    evaluate_splits,
    evaluate_subsets,
)
from declutr.evaluation.tasks import SentencePairs
from tests.evaluation.conftest import lookup


def unit(angle_degrees: float) -> list:
    angle = math.radians(angle_degrees)
    return [math.cos(angle), math.sin(angle)]


def pairs_at(angles, scores, prefix="") -> tuple:
    """Pairs `(x_i, y_i)` whose embeddings are `angles[i]` degrees apart; their vectors."""
    first = [f"{prefix}x{i}" for i in range(len(angles))]
    second = [f"{prefix}y{i}" for i in range(len(angles))]
    vectors = {text: unit(0) for text in first}
    vectors.update({text: unit(angle) for text, angle in zip(second, angles)})
    return SentencePairs(first, second, np.array(scores, dtype=np.float64)), vectors


def test_cosine_similarities_of_hand_built_vectors():
    first = np.array([[1, 0], [1, 0], [2, 0], [0, 0]], dtype=np.float32)
    second = np.array([[0, 3], [1, 1], [-1, 0], [1, 0]], dtype=np.float32)

    similarities = cosine_similarities(first, second)

    # Then: 90 degrees, 45 degrees, opposite, and 0 for the zero vector (not nan)
    np.testing.assert_allclose(similarities, [0, math.sqrt(0.5), -1, 0], atol=1e-7)
    assert similarities.dtype == np.float64


def test_correlations_leave_out_pairs_without_gold():
    predicted = np.array([0.1, 0.9, 0.5, 0.3, 0.7])
    gold = np.array([1.0, np.nan, 3.0, 2.0, 2.5])

    result = correlations(predicted, gold)

    kept = ~np.isnan(gold)
    assert result["spearman"] == pytest.approx(spearmanr(predicted[kept], gold[kept])[0])
    assert result["pearson"] == pytest.approx(pearsonr(predicted[kept], gold[kept])[0])
    assert (result["num_pairs"], result["num_without_gold"]) == (4, 1)
    with pytest.raises(ValueError, match="at least 2 pairs with a gold score, got 1"):
        correlations(predicted[:2], gold[:2])


def test_subsets_pooled_and_mean_differ_as_expected():
    # Given: two subsets, each ranked perfectly by cosine, but on different gold scales, so that
    # pooling them mis-ranks pairs across subsets
    first, first_vectors = pairs_at([80, 60, 40], [1.0, 2.0, 3.0], prefix="a")
    second, second_vectors = pairs_at([30, 20, 10, 0], [0.0, 0.5, 1.0, np.nan], prefix="b")
    embed = lookup({**first_vectors, **second_vectors})

    result = evaluate_subsets({"one": first, "two": second}, embed)

    assert result["subsets"]["one"]["spearman"] == pytest.approx(1.0)
    assert result["subsets"]["two"]["spearman"] == pytest.approx(1.0)
    assert result["subsets"]["two"]["num_without_gold"] == 1
    assert result["spearman_mean"] == pytest.approx(1.0)
    cosines = np.cos(np.radians([80, 60, 40, 30, 20, 10]))
    gold = [1.0, 2.0, 3.0, 0.0, 0.5, 1.0]
    assert result["spearman_all"] == pytest.approx(spearmanr(cosines, gold)[0])
    assert result["spearman_all"] < 0.5
    assert result["pearson_mean"] == pytest.approx(
        np.mean([pearsonr(cosines[:3], gold[:3])[0], pearsonr(cosines[3:], gold[3:])[0]])
    )
    assert result["num_pairs"] == 6


def test_splits_report_test_first_and_dev_prefixed():
    test, test_vectors = pairs_at([10, 50, 30], [3.0, 1.0, 2.0], prefix="t")
    dev, dev_vectors = pairs_at([10, 50, 30], [1.0, 3.0, 2.0], prefix="d")
    embed = lookup({**test_vectors, **dev_vectors})

    result = evaluate_splits({"dev": dev, "test": test}, embed)

    assert list(result) == ["spearman", "pearson", "dev_spearman", "dev_pearson", "splits"]
    assert result["spearman"] == pytest.approx(1.0)
    assert result["dev_spearman"] == pytest.approx(-1.0)
    assert result["splits"]["test"]["num_pairs"] == 3
