"""The classification tasks' settings, in a module without scikit-learn so that
`declutr evaluate --help` shows them at once (`declutr.evaluation.classification` uses them)."""

from typing import Tuple

# Decades around scikit-learn's default C=1 (standardised features of a few hundred dimensions
# often want stronger regularisation). Warm starts along the grid keep selection cheap.
C_GRID: Tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0)
HELD_OUT = 0.1
FOLDS = 10
SEED = 1111  # SentEval's default seed
MAX_ITER = 1000
# SentEval's KFoldClassifier on its scikit-learn path (MRPC): C in 2^-1..2^5, 10 folds (the
# kfold of SentEval's documented configuration).
SENTEVAL_C_GRID: Tuple[float, ...] = tuple(2.0**power for power in range(-1, 6))
SENTEVAL_KFOLD = 10
