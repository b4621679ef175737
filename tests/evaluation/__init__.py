"""Tests of `declutr.evaluation` and `scripts/evaluate.py`, on tiny files in SentEval's layout."""
