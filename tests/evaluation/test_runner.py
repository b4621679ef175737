import json
import math

import pytest

from declutr import Encoder
from declutr.evaluation import (
    TASKS,
    MissingTaskDataError,
    UnknownTaskError,
    evaluate,
)
from declutr.evaluation.report import scores, without_nan
from declutr.evaluation.tasks import checksums

HEADLINES = {
    "sts_subsets": ["spearman_all", "spearman_mean", "pearson_all", "pearson_mean"],
    "sts_splits": ["spearman", "pearson", "dev_spearman", "dev_pearson"],
    "cross_validation": ["accuracy", "accuracy_std"],
    "classification": ["accuracy"],  # and validation_accuracy, None here with a single C
    # and SentEval's cross-validated accuracy of the chosen C, computed even for a single C
    "pair_classification": ["accuracy", "f1", "validation_accuracy"],
}


def test_every_task_on_the_senteval_layout(senteval_dir, bag_of_words):
    # When: all tasks, named in any case, with the bag-of-words encoder (and a single C, to keep
    # it fast: test_classification.py covers the choice of C)
    tasks = ",".join(TASKS).lower()
    output = evaluate(bag_of_words, senteval_dir, tasks, c_grid=[1.0], show_progress=False)

    # Then: every task has its scores, checksums and time, and all is valid JSON
    assert output["tasks"] == list(TASKS)
    assert output["data_dir"] == str(senteval_dir) and output["model"] == "BagOfWords"
    for name, task in TASKS.items():
        result = output["results"][name]
        assert [key for key, _ in scores(result)] == HEADLINES[task.kind], name
        assert output["checksums"][name] == checksums(senteval_dir, name)
        assert output["seconds"][name] >= 0
    assert output["wall_time_s"] >= sum(output["seconds"].values())
    json.dumps(without_nan(output), allow_nan=False)
    # The synthetic tasks are easy for a bag of words.
    assert output["results"]["STS12"]["spearman_all"] > 0.8
    assert output["results"]["STS12"]["subsets"]["MSRpar"]["num_without_gold"] == 1
    assert output["results"]["STSBenchmark"]["spearman"] > 0.8
    assert output["results"]["TREC"]["accuracy"] == 1.0
    assert output["results"]["MRPC"]["f1"] == 1.0


def test_errors_come_before_any_embedding(senteval_dir, bag_of_words, tmp_path):
    with pytest.raises(UnknownTaskError, match="'STS-B'.*valid: STS12"):
        evaluate(bag_of_words, senteval_dir, ["MR", "STS-B"])
    with pytest.raises(MissingTaskDataError, match="MR: .*rt-polarity.pos"):
        evaluate(bag_of_words, tmp_path, ["STSBenchmark", "MR"])
    for c_grid in [(), (1.0, 0.0)]:
        with pytest.raises(ValueError, match="c_grid must hold one or more positive numbers"):
            evaluate(bag_of_words, senteval_dir, ["MR"], c_grid=c_grid)
    assert bag_of_words.calls == []


def test_real_encoder_end_to_end(tiny_model, senteval_dir):
    # Given: the tiny RoBERTa through declutr.Encoder
    encoder = Encoder(tiny_model, device="cpu", batch_size=8)

    output = evaluate(encoder, senteval_dir, ["STS12", "STSBenchmark", "MR"], show_progress=False)

    assert output["model"] == tiny_model
    for name in output["tasks"]:
        assert all(math.isfinite(value) for _, value in scores(output["results"][name])), name
    assert -1 <= output["results"]["STSBenchmark"]["spearman"] <= 1
    assert 0 <= output["results"]["MR"]["accuracy"] <= 1
