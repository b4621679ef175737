"""The learning rate of `training_config/quickstart.jsonnet` for the demo's from-scratch encoder,
chosen by measurement, with Adam's bias correction on (and the slanted triangular schedule's
warm-up over the first 10% of the steps): the demo's encoder (vocabulary 8000, hidden 128, 2
layers) trained on the demo's training articles less a validation split of them (40 per
category, `demo_validation.py`), and scored before and after training on that validation split
by `declutr.evaluation.before_after`. The demo's own held-out articles choose nothing.

    python -m scripts.benchmarks.demo_from_scratch_rate OUT 5e-4,1e-3,2e-3 true \\
        | grep '^{' >> scripts/benchmarks/results/demo_from_scratch_rate.log

An optional fourth argument holds out that many validation articles per category instead of 40.
(Before 2026-12-05 this script scored the demo's held-out articles: the log's earlier lines.)
"""

import json
import os
import sys
import time
from pathlib import Path

from allennlp.commands.train import train_model_from_file
from allennlp.models.archival import load_archive

from declutr.demo.run import DEFAULT_CONFIG, MODEL_VARIABLE, build_encoder
from declutr.evaluation.before_after import score, untrained_model
from scripts.benchmarks.demo_validation import validation_corpus


def main(output: Path, rates: str, correct_bias: bool, per_category: int = 40) -> None:
    corpus = validation_corpus(output, None, seed=13, per_category=per_category)
    encoder = str(build_encoder(corpus.train_path, output / "encoder"))
    os.environ[MODEL_VARIABLE] = encoder
    overrides = {
        "train_data_path": str(corpus.train_path),
        "validation_data_path": str(corpus.heldout_path),
    }
    model, reader = untrained_model(DEFAULT_CONFIG, overrides)
    split = {"scored_on": "validation split of the training articles", "train": corpus.num_train}
    untrained = score(model, reader, corpus.heldout_path).__dict__
    print(json.dumps({**split, "untrained": untrained}), flush=True)
    for rate in map(float, rates.split(",")):
        started = time.time()
        serialization_dir = output / f"model{rate:g}"
        run = dict(overrides, **{"trainer.optimizer.lr": rate})
        run["trainer.optimizer.correct_bias"] = correct_bias
        train_model_from_file(
            str(DEFAULT_CONFIG), str(serialization_dir), json.dumps(run), force=True
        )
        archive = load_archive(str(serialization_dir / "model.tar.gz"))
        trained = score(archive.model, archive.dataset_reader, corpus.heldout_path)
        metrics = json.loads((serialization_dir / "metrics.json").read_text())
        record = {**split, "lr": rate, "correct_bias": correct_bias, "trained": trained.__dict__}
        record["metrics_val_retrieval"] = metrics["validation_retrieval_accuracy"]
        record["duration"] = metrics["training_duration"]
        record["s"] = round(time.time() - started)
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "true", *map(int, sys.argv[4:5]))
