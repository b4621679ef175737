"""Tests of `declutr.evaluation` and `declutr evaluate`, on tiny files in SentEval's layout."""
