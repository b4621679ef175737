"""Semantic textual similarity: the cosine similarity of two texts' embeddings, correlated with
human similarity scores (Spearman's and Pearson's coefficients, from scipy).

Pairs without a gold score are left out, as SentEval does. Scores are returned as fractions
(a Spearman of 0.82, not 82).
"""

from typing import Any, Dict

import numpy as np
from scipy.stats import pearsonr, spearmanr

from declutr.evaluation.embedding import Embed
from declutr.evaluation.tasks import SentencePairs


def cosine_similarities(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two `(num_pairs, dim)` arrays, in float64; 0 where either
    vector is all zeros (SentEval maps those NaNs to 0 too)."""
    first, second = first.astype(np.float64), second.astype(np.float64)
    norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    dots = np.einsum("ij,ij->i", first, second)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


def correlations(predicted: np.ndarray, gold: np.ndarray) -> Dict[str, Any]:
    """Spearman and Pearson correlation of `predicted` with `gold` over the pairs that have a
    gold score (`gold` is not NaN), with the counts of pairs used and left out."""
    scored = ~np.isnan(gold)
    if scored.sum() < 2:
        raise ValueError(f"Need at least 2 pairs with a gold score, got {int(scored.sum())}.")
    return {
        "spearman": float(spearmanr(predicted[scored], gold[scored])[0]),
        "pearson": float(pearsonr(predicted[scored], gold[scored])[0]),
        "num_pairs": int(scored.sum()),
        "num_without_gold": int((~scored).sum()),
    }


def similarities(pairs: SentencePairs, embed: Embed) -> np.ndarray:
    """The cosine similarity of each pair's embeddings, `(num_pairs,)`."""
    return cosine_similarities(embed(pairs.first), embed(pairs.second))


def evaluate_subsets(subsets: Dict[str, SentencePairs], embed: Embed) -> Dict[str, Any]:
    """STS12-16: correlations of each subset, of all subsets' pairs pooled (`spearman_all`,
    `pearson_all`, as MTEB scores these years) and their mean over subsets (`spearman_mean`,
    `pearson_mean`: SentEval's "all" mean, which the DeCLUTR paper reports)."""
    predicted = {name: similarities(pairs, embed) for name, pairs in subsets.items()}
    per_subset = {
        name: correlations(predicted[name], pairs.scores) for name, pairs in subsets.items()
    }
    pooled = correlations(
        np.concatenate(list(predicted.values())),
        np.concatenate([pairs.scores for pairs in subsets.values()]),
    )
    return {
        "spearman_all": pooled["spearman"],
        "spearman_mean": float(np.mean([r["spearman"] for r in per_subset.values()])),
        "pearson_all": pooled["pearson"],
        "pearson_mean": float(np.mean([r["pearson"] for r in per_subset.values()])),
        "num_pairs": pooled["num_pairs"],
        "subsets": per_subset,
    }


def evaluate_splits(splits: Dict[str, SentencePairs], embed: Embed) -> Dict[str, Any]:
    """STSBenchmark, SICKRelatedness: correlations on each split; `spearman` and `pearson` are
    the test split's, `<split>_spearman` and `<split>_pearson` the other splits'."""
    per_split = {
        name: correlations(similarities(pairs, embed), pairs.scores)
        for name, pairs in splits.items()
    }
    results: Dict[str, Any] = {}
    for name in sorted(per_split, key=lambda split: split != "test"):  # the test split first
        prefix = "" if name == "test" else f"{name}_"
        results[f"{prefix}spearman"] = per_split[name]["spearman"]
        results[f"{prefix}pearson"] = per_split[name]["pearson"]
    return {**results, "splits": per_split}
