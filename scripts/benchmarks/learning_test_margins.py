"""The measurements behind the margins of tests/models/test_learning.py: validation retrieval
accuracy of its tiny from-scratch encoder, untrained and trained with the anchor/positive pairing
intact and broken, for several seeds.

    python -m scripts.benchmarks.learning_test_margins --seeds 0,1,2 \
        | tee -a scripts/benchmarks/results/learning_test_margins.log

The defaults are the test's (`tests.models.test_learning.Setting`); options try others, e.g.
`--validation-strategy default` validates on the paper's spans (positives may overlap their
anchors), `--training-strategy adjacent` trains on positives beside their anchors only.
"""

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Optional

import typer

import declutr
from tests import MODEL_VARIABLE
from tests.models.test_learning import Setting, prepare, train_and_validate

declutr.register()
DEFAULT = Setting()


def strategy(name: str) -> Optional[str]:
    return None if name == "default" else name


def main(
    seeds: str = "0,1,2",
    num_validation: int = DEFAULT.num_validation,
    vocab_size: int = DEFAULT.vocab_size,
    hidden_size: int = DEFAULT.hidden_size,
    epochs: int = DEFAULT.epochs,
    learning_rate: float = DEFAULT.learning_rate,
    batch_size: int = DEFAULT.batch_size,
    training_spans: str = ",".join(map(str, DEFAULT.training_spans)),
    validation_spans: str = ",".join(map(str, DEFAULT.validation_spans)),
    training_strategy: str = DEFAULT.training_strategy or "default",
    validation_strategy: str = DEFAULT.validation_strategy or "default",
    masked_language_modeling: bool = DEFAULT.masked_language_modeling,
) -> None:
    setting = Setting(
        num_validation=num_validation,
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        training_spans=tuple(map(int, training_spans.split(","))),
        validation_spans=tuple(map(int, validation_spans.split(","))),
        training_strategy=strategy(training_strategy),
        validation_strategy=strategy(validation_strategy),
        masked_language_modeling=masked_language_modeling,
    )
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as the test
    with tempfile.TemporaryDirectory() as directory:
        directory_path = Path(directory)
        data = prepare(directory_path, setting)
        os.environ[MODEL_VARIABLE] = data["encoder"]  # the quickstart config's encoder
        seed_list = [int(seed) for seed in seeds.split(",")]
        # The untrained encoder does not depend on the seed: it is scored once.
        runs = [(seed_list[0], "declutr", False)] + [
            (seed, reader, True)
            for seed in seed_list
            for reader in ("declutr", "declutr_mispaired")
        ]
        for seed, reader, train in runs:
            started = time.perf_counter()
            metrics = train_and_validate(directory_path, data, reader, seed, train, setting)
            record = {
                **dataclasses.asdict(setting),
                "seed": seed,
                "reader": reader,
                "trained": train,
                "validation_retrieval_accuracy": round(metrics["validation_retrieval_accuracy"], 4),
                "validation_retrieval_mrr": round(metrics["validation_retrieval_mrr"], 4),
                "training_contrastive_loss": round(metrics["training_contrastive_loss"], 3),
                "training_mlm_loss": round(metrics.get("training_mlm_loss", float("nan")), 3),
                "seconds": round(time.perf_counter() - started, 1),
            }
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    typer.run(main)
