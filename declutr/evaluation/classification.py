"""Classification on frozen embeddings with scikit-learn's logistic regression.

MRPC follows SentEval exactly (`evaluate_pair_classification`, `senteval_kfold_classifier`).
For the other tasks, features are standardised (`StandardScaler`, fitted on the training data
only), then classified by an L2-regularised `LogisticRegression` (SentEval's scikit-learn option
uses the same classifier on raw features; standardising lets one grid of `C` suit encoders of any
scale). The inverse regularisation strength `C` is chosen from that grid by accuracy on
validation data: the dev split where the task has one (SST2), otherwise a stratified `HELD_OUT`
part of the training data (TREC, and the training folds of each cross-validation fold); the
classifier is then fitted with that `C` on the training data (all of it, held-out part
included). Every split and fit is seeded. Accuracies are fractions (0.85, not 85).
"""

import math
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from declutr.evaluation.embedding import Embed
from declutr.evaluation.settings import (
    C_GRID,
    FOLDS,
    HELD_OUT,
    MAX_ITER,
    SEED,
    SENTEVAL_C_GRID,
    SENTEVAL_KFOLD,
)
from declutr.evaluation.tasks import LabelledPairs, LabelledTexts, TaskData


def check_c_grid(c_grid: Sequence[float]) -> None:
    """Raise `ValueError` unless `c_grid` holds one or more positive numbers."""
    if len(c_grid) == 0 or not all(isinstance(c, (int, float)) and c > 0 for c in c_grid):
        raise ValueError(f"c_grid must hold one or more positive numbers, got {c_grid!r}.")


def make_classifier(c: float, seed: int) -> Pipeline:
    """Standardisation followed by logistic regression with inverse regularisation `c`."""
    return make_pipeline(
        StandardScaler(), LogisticRegression(C=c, max_iter=MAX_ITER, random_state=seed)
    )


def select_c(
    train: Tuple[np.ndarray, np.ndarray],
    valid: Tuple[np.ndarray, np.ndarray],
    c_grid: Sequence[float],
    seed: int,
) -> Tuple[float, float]:
    """`(C, validation accuracy)` of the best `C` of `c_grid` (the smallest among ties), each
    classifier trained on `train` and scored on `valid`, both `(features, labels)`."""
    scaler = StandardScaler().fit(train[0])
    train_x, valid_x = scaler.transform(train[0]), scaler.transform(valid[0])
    # Warm starts along increasing C make the grid about as cheap as one fit.
    model = LogisticRegression(max_iter=MAX_ITER, random_state=seed, warm_start=True)
    best_c, best_accuracy = 0.0, -1.0
    for c in sorted(c_grid):
        accuracy = model.set_params(C=c).fit(train_x, train[1]).score(valid_x, valid[1])
        if accuracy > best_accuracy:
            best_c, best_accuracy = c, float(accuracy)
    return best_c, best_accuracy


def hold_out(
    features: np.ndarray, labels: np.ndarray, seed: int
) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray]]:
    """`(train, valid)` parts of `(features, labels)`, the valid part `HELD_OUT` of the
    examples, stratified by label where the classes allow it."""
    counts = np.unique(labels, return_counts=True)[1]
    num_valid = math.ceil(HELD_OUT * len(labels))
    # Stratifying needs two examples of every class and room for each class on both sides.
    can_stratify = counts.min() >= 2 and min(num_valid, len(labels) - num_valid) >= counts.size
    stratify = labels if can_stratify else None
    train_x, valid_x, train_y, valid_y = train_test_split(
        features, labels, test_size=HELD_OUT, random_state=seed, stratify=stratify
    )
    return (train_x, train_y), (valid_x, valid_y)


def fit_selected(
    features: np.ndarray,
    labels: np.ndarray,
    c_grid: Sequence[float],
    seed: int,
    dev: Optional[Tuple[np.ndarray, np.ndarray]] = None,
) -> Tuple[Pipeline, Dict[str, Any]]:
    """A classifier fitted on `(features, labels)` with `C` chosen on `dev` (or on a held-out
    part of the training data), and `{"C", "validation_accuracy"}` (the latter `None` when
    `c_grid` has a single value: nothing is held out then)."""
    accuracy: Optional[float] = None
    if len(c_grid) == 1:
        c = float(c_grid[0])
    else:
        if dev is None:
            train, valid = hold_out(features, labels, seed)
        else:
            train, valid = (features, labels), dev
        c, accuracy = select_c(train, valid, c_grid, seed)
    model = make_classifier(c, seed).fit(features, labels)
    return model, {"C": c, "validation_accuracy": accuracy}


def cross_validated_accuracy(
    features: np.ndarray,
    labels: np.ndarray,
    folds: int = FOLDS,
    c_grid: Sequence[float] = C_GRID,
    seed: int = SEED,
) -> Dict[str, Any]:
    """Mean test accuracy over `folds` stratified, shuffled folds, `C` chosen within each."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    accuracies, chosen = [], []
    for train, test in splitter.split(features, labels):
        model, selection = fit_selected(features[train], labels[train], c_grid, seed)
        accuracies.append(float(model.score(features[test], labels[test])))
        chosen.append(selection["C"])
    return {
        "accuracy": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)),
        "details": {
            "fold_accuracies": accuracies,
            "C": chosen,
            "folds": folds,
            "num_examples": int(len(labels)),
        },
    }


def pair_features(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """`[|u - v|, u * v]` of each pair, `(num_pairs, 2 * dim)`: SentEval's MRPC features."""
    return np.concatenate([np.abs(first - second), first * second], axis=1)


def senteval_kfold_classifier(
    train: Tuple[np.ndarray, np.ndarray],
    test_features: np.ndarray,
    c_grid: Sequence[float] = SENTEVAL_C_GRID,
    kfold: int = SENTEVAL_KFOLD,
    seed: int = SEED,
) -> Tuple[np.ndarray, Dict[str, Any]]:
    """SentEval's `KFoldClassifier` on its scikit-learn path: test predictions and the choice.

    For each `C` of `c_grid` (ascending), the mean accuracy of `LogisticRegression(C=C,
    random_state=seed)` (scikit-learn's defaults otherwise, as SentEval leaves them) over
    `StratifiedKFold(kfold, shuffle=True, random_state=seed)` folds of `train`
    (`(features, labels)`, raw); the `C` with the best mean, compared as SentEval rounds it (a
    percentage to 2 decimals, the first of ties), is fitted on all of `train` and predicts
    `test_features`. Fits that stop at scikit-learn's iteration limit are counted, not warned
    about (SentEval's numbers come from the same fits).
    """
    features, labels = train
    folds = list(StratifiedKFold(kfold, shuffle=True, random_state=seed).split(features, labels))
    grid = sorted(float(c) for c in c_grid)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        means: List[float] = []
        for c in grid:
            accuracies = [
                LogisticRegression(C=c, random_state=seed)
                .fit(features[fit], labels[fit])
                .score(features[held], labels[held])
                for fit, held in folds
            ]
            means.append(float(np.mean(accuracies)))
        best = int(np.argmax([round(100 * mean, 2) for mean in means]))
        model = LogisticRegression(C=grid[best], random_state=seed).fit(features, labels)
    not_converged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    choice = {
        "C": grid[best],
        "validation_accuracy": means[best],
        "cv_accuracies": dict(zip(grid, means)),
    }
    return model.predict(test_features), {**choice, "fits_not_converged": not_converged}


def senteval_order(pairs: Any) -> List[int]:
    """Indices of `pairs` (`LabelledPairs`) in SentEval's order: by the word counts of the first
    and second texts, then the label, ties in file order. SentEval's MRPC embeds and classifies
    the pairs in this order, which decides what its shuffled folds hold."""
    return sorted(
        range(len(pairs.labels)),
        key=lambda i: (len(pairs.first[i].split()), len(pairs.second[i].split()), pairs.labels[i]),
    )


def evaluate_cross_validation(
    data: TaskData, embed: Embed, c_grid: Sequence[float] = C_GRID, seed: int = SEED
) -> Dict[str, Any]:
    """MR, CR, SUBJ, MPQA: `FOLDS`-fold cross-validated accuracy on the task's "all" part."""
    part = _part(data, "all", LabelledTexts)
    return cross_validated_accuracy(embed(part.texts), part.labels, FOLDS, c_grid, seed)


def evaluate_classification(
    data: TaskData, embed: Embed, c_grid: Sequence[float] = C_GRID, seed: int = SEED
) -> Dict[str, Any]:
    """SST2, TREC: train on "train", choose C on "dev" if the task has one (else on a held-out
    part of train), report accuracy on "test"."""
    train, test = _part(data, "train", LabelledTexts), _part(data, "test", LabelledTexts)
    dev = _part(data, "dev", LabelledTexts) if "dev" in data else None
    model, selection = fit_selected(
        embed(train.texts),
        train.labels,
        c_grid,
        seed,
        dev=(embed(dev.texts), dev.labels) if dev else None,
    )
    accuracy = float(model.score(embed(test.texts), test.labels))
    return _split_result({"accuracy": accuracy}, selection, dev is not None, train, test)


def evaluate_pair_classification(
    data: TaskData, embed: Embed, c_grid: Optional[Sequence[float]] = None, seed: int = SEED
) -> Dict[str, Any]:
    """MRPC exactly as SentEval's `mrpc.py` scores it: `pair_features` (`[|u - v|, u * v]`) of
    "train" in `senteval_order`, classified by `senteval_kfold_classifier` (C chosen from
    `c_grid`, by default SentEval's 2^-1..2^5, by 10-fold cross-validation on train, then refitted
    on all of train); accuracy and F1 (of the positive class, 1) on "test"."""
    train, test = _part(data, "train", LabelledPairs), _part(data, "test", LabelledPairs)
    order = senteval_order(train)
    train_features = pair_features(embed(train.first), embed(train.second))[order]
    predicted, choice = senteval_kfold_classifier(
        (train_features, train.labels[order]),
        pair_features(embed(test.first), embed(test.second)),
        SENTEVAL_C_GRID if c_grid is None else c_grid,
        SENTEVAL_KFOLD,
        seed,
    )
    return {
        "accuracy": float(np.mean(predicted == test.labels)),
        "f1": float(f1_score(test.labels, predicted)),
        "validation_accuracy": choice["validation_accuracy"],
        "details": {
            "C": choice["C"],
            "validation": f"{SENTEVAL_KFOLD}-fold cross-validation on train (SentEval's)",
            "cv_accuracies": choice["cv_accuracies"],
            "fits_not_converged": choice["fits_not_converged"],
            "num_train": int(len(train.labels)),
            "num_test": int(len(test.labels)),
        },
    }


def _split_result(
    scores: Dict[str, float], selection: Dict[str, Any], on_dev: bool, train: Any, test: Any
) -> Dict[str, Any]:
    validation = "dev" if on_dev else f"held-out {HELD_OUT:.0%} of train"
    if selection["validation_accuracy"] is None:
        validation = "none (a single C)"
    return {
        **scores,
        "validation_accuracy": selection["validation_accuracy"],
        "details": {
            "C": selection["C"],
            "validation": validation,
            "num_train": int(len(train.labels)),
            "num_test": int(len(test.labels)),
        },
    }


def _part(data: TaskData, name: str, kind: type) -> Any:
    part = data.get(name)
    if not isinstance(part, kind):
        raise ValueError(f'Expected a {kind.__name__} "{name}" part, got {type(part).__name__}.')
    return part
