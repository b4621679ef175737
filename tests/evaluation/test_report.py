import json
import math

from declutr.evaluation.report import format_table, scores, without_nan


def test_scores_are_the_top_level_floats():
    result = {"spearman": 0.5, "num_pairs": 3, "accuracy": None, "splits": {"test": {}}, "f1": 1.0}
    assert scores(result) == [("spearman", 0.5), ("f1", 1.0)]


def test_table_shows_scores_times_100():
    output = {
        "tasks": ["STSBenchmark", "MR"],
        "results": {
            "STSBenchmark": {"spearman": 0.82032, "dev_spearman": math.nan, "splits": {}},
            "MR": {"accuracy": 0.7685, "details": {}},
        },
        "seconds": {"STSBenchmark": 12.34, "MR": 56.0},
        "wall_time_s": 70.0,
    }

    lines = format_table(output).splitlines()

    assert lines[0].split() == ["Task", "Metric", "Score", "x100", "Seconds"]
    assert lines[2].split() == ["STSBenchmark", "spearman", "82.03", "12.3"]
    assert lines[3].split() == ["dev_spearman", "nan"]
    assert lines[4].split() == ["MR", "accuracy", "76.85", "56.0"]
    assert lines[-1] == "Wall time: 70.0 s"


def test_without_nan_gives_strict_json():
    value = {"a": [1.0, math.nan], "b": {"c": math.inf, "d": "x"}, "e": (2,)}
    cleaned = without_nan(value)
    assert cleaned == {"a": [1.0, None], "b": {"c": None, "d": "x"}, "e": [2]}
    json.dumps(cleaned, allow_nan=False)
