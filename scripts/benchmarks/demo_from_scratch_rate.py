"""The learning rate of `training_config/quickstart.jsonnet` for the demo's from-scratch encoder,
chosen by measurement, with Adam's bias correction on (and the slanted triangular schedule's
warm-up over the first 10% of the steps): the demo's corpus (all training articles, 20 held out
per category, seed 13) and encoder (vocabulary 8000, hidden 128, 2 layers), scored before and
after training by `declutr.evaluation.before_after`.

    python -m scripts.benchmarks.demo_from_scratch_rate OUT 1e-3,5e-4 true \\
        | grep '^{' >> scripts/benchmarks/results/demo_from_scratch_rate.log

An optional fourth argument holds out that many articles per category instead of 20.
"""

import json
import os
import sys
import time
from pathlib import Path

from allennlp.commands.train import train_model_from_file
from allennlp.models.archival import load_archive

from declutr.demo.corpus import build_corpus
from declutr.demo.run import DEFAULT_CONFIG, MODEL_VARIABLE, build_encoder
from declutr.evaluation.before_after import score, untrained_model


def main(output: Path, rates: str, correct_bias: bool, heldout_per_category: int = 20) -> None:
    corpus = build_corpus(output, None, heldout_per_category, seed=13)
    encoder = str(build_encoder(corpus.train_path, output / "encoder"))
    os.environ[MODEL_VARIABLE] = encoder
    overrides = {
        "train_data_path": str(corpus.train_path),
        "validation_data_path": str(corpus.heldout_path),
    }
    model, reader = untrained_model(DEFAULT_CONFIG, overrides)
    print(json.dumps({"untrained": score(model, reader, corpus.heldout_path).__dict__}))
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
        record = {"lr": rate, "correct_bias": correct_bias, "trained": trained.__dict__}
        record["metrics_val_retrieval"] = metrics["validation_retrieval_accuracy"]
        record["duration"] = metrics["training_duration"]
        record["s"] = round(time.time() - started)
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "true", *map(int, sys.argv[4:5]))
