"""The training configs of `training_config/`: every one evaluates, and the adaptation recipe is
DeCLUTR-small with exactly the options the comparison chose on dev data."""

import json
from typing import Optional

import pytest
from allennlp.common import Params

from tests import CONFIG_ROOT, MODEL_VARIABLE

CONFIGS = sorted(CONFIG_ROOT.glob("*.jsonnet"))


def evaluated(path, monkeypatch, overrides: Optional[dict] = None) -> dict:
    """`path` evaluated, with allennlp's dotted `overrides` (as the comparison trains its rows)."""
    monkeypatch.setenv(MODEL_VARIABLE, "distilroberta-base")
    params = Params.from_file(str(path), json.dumps(overrides or {}))
    return json.loads(json.dumps(params.as_dict(quiet=True)))


@pytest.mark.parametrize("config", CONFIGS, ids=[path.name for path in CONFIGS])
def test_every_config_evaluates_to_a_declutr_experiment(config, monkeypatch):
    params = evaluated(config, monkeypatch)
    assert params["model"]["type"] == "declutr"
    assert params["dataset_reader"]["type"] == "declutr"


def test_the_adaptation_recipe_is_declutr_small_with_the_chosen_options(monkeypatch):
    # scripts/benchmarks/comparison_rows.py: the "declutr_sentence_spans" row, chosen at 2e-5 on
    # dev data (docs/comparison.md)
    from scripts.benchmarks.comparison_rows import BEST, ROWS, SENTENCE_SPANS

    assert ROWS["declutr_sentence_spans"]["options"] == [BEST | SENTENCE_SPANS]
    options = BEST | SENTENCE_SPANS | {"trainer.optimizer.lr": 2e-5}
    small = evaluated(CONFIG_ROOT / "declutr_small.jsonnet", monkeypatch, options)
    adapt = evaluated(CONFIG_ROOT / "declutr_adapt.jsonnet", monkeypatch)
    # The config sets the batch size once, so its loaders' memory and the validation batches
    # follow it; the benchmark's override changed the training batch size only.
    for config in (small, adapt):
        config["data_loader"].pop("max_instances_in_memory")
        config.pop("validation_data_loader", None)
    assert adapt == small
