"""The training configs of `training_config/`: every one evaluates, and the adaptation recipe is
DeCLUTR-small with exactly the options the comparison chose on dev data."""

import json

import pytest
from allennlp.common import Params

from tests import CONFIG_ROOT, MODEL_VARIABLE

CONFIGS = sorted(CONFIG_ROOT.glob("*.jsonnet"))


def evaluated(path, monkeypatch) -> dict:
    monkeypatch.setenv(MODEL_VARIABLE, "distilroberta-base")
    return json.loads(json.dumps(Params.from_file(str(path)).as_dict(quiet=True)))


@pytest.mark.parametrize("config", CONFIGS, ids=[path.name for path in CONFIGS])
def test_every_config_evaluates_to_a_declutr_experiment(config, monkeypatch):
    params = evaluated(config, monkeypatch)
    assert params["model"]["type"] == "declutr"
    assert params["dataset_reader"]["type"] == "declutr"


def test_the_adaptation_recipe_is_declutr_small_with_the_chosen_options(monkeypatch):
    # scripts/benchmarks/comparison_rows.py: the "declutr_best" row, chosen at 2e-5 on dev data
    from scripts.benchmarks.comparison_rows import BEST

    small = evaluated(CONFIG_ROOT / "declutr_small.jsonnet", monkeypatch)
    adapt = evaluated(CONFIG_ROOT / "declutr_adapt.jsonnet", monkeypatch)
    small["model"]["unmasked_anchors"] = BEST["model.unmasked_anchors"]
    small["trainer"]["optimizer"]["correct_bias"] = BEST["trainer.optimizer.correct_bias"]
    small["trainer"]["optimizer"]["lr"] = 2e-5
    assert adapt == small
