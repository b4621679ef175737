"""The measurements behind the margins of tests/models/test_learning.py: validation retrieval
accuracy of the tiny test encoder, untrained and trained with the pairing intact and broken, for
several seeds.

    PYTHONPATH=. python benchmarks/learning_test_margins.py --seeds 0,1,2 \
        | tee benchmarks/results/learning_test_margins.log

Options try other settings than the test's (its defaults): `--validation-strategy adjacent`
validates on positives that share no token with their anchor, `--vocabulary bbc` builds the
tiny encoder's tokenizer on the training articles instead of the test fixtures.
"""

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Optional

import typer

import declutr  # noqa: F401
from declutr.testing.from_scratch import build_encoder_from_scratch
from tests import MODEL_VARIABLE
from tests.conftest import fixture_documents
from tests.models.test_learning import (
    LEARNING_RATE,
    NUM_TRAIN,
    bbc_articles,
    corpus,
    train_and_validate,
)


def main(
    seeds: str = "0,1,2",
    epochs: int = 2,
    learning_rate: float = LEARNING_RATE,
    training_strategy: Optional[str] = None,
    validation_strategy: Optional[str] = None,
    vocabulary: str = "fixtures",
) -> None:
    strategies = (training_strategy, validation_strategy)
    with tempfile.TemporaryDirectory() as directory:
        directory_path = Path(directory)
        data = corpus(directory_path)
        texts = fixture_documents() if vocabulary == "fixtures" else bbc_articles()[:NUM_TRAIN]
        model = str(build_encoder_from_scratch(texts, directory_path / "m", seed=0))
        os.environ[MODEL_VARIABLE] = model  # the quickstart config's encoder
        for seed in map(int, seeds.split(",")):
            for reader, train in [
                ("declutr", False),
                ("declutr", True),
                ("declutr_mispaired", True),
            ]:
                started = time.perf_counter()
                metrics = train_and_validate(
                    directory_path,
                    model,
                    data,
                    reader,
                    seed,
                    train,
                    epochs,
                    learning_rate,
                    strategies,
                )
                record = {
                    "seed": seed,
                    "epochs": epochs,
                    "learning_rate": learning_rate,
                    "strategies": strategies,
                    "vocabulary": vocabulary,
                    "reader": reader,
                    "trained": train,
                    "validation_retrieval_accuracy": metrics["validation_retrieval_accuracy"],
                    "validation_retrieval_mrr": round(metrics["validation_retrieval_mrr"], 4),
                    "training_contrastive_loss": round(metrics["training_contrastive_loss"], 3),
                    "seconds": round(time.perf_counter() - started, 1),
                }
                print(json.dumps(record), flush=True)


if __name__ == "__main__":
    typer.run(main)
