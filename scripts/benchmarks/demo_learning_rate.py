"""The learning rate `declutr demo --model` trains a pretrained model at, chosen by measurement
on data that the demo's report never uses: for each rate, train the quickstart config
(bias-corrected AdamW, slanted triangular warm-up) on the demo's first 320 training articles less
a validation split of the training articles (40 per category, `demo_validation.py`), then score
the untrained and each trained model on that validation split (1-nearest-neighbour category
accuracy, leave-one-out, cosine, mean pooling, the reader's 64 tokens; validation retrieval
accuracy) and on STS-B dev (Spearman, 128 tokens). STS-B test, which `evaluate` computes
too, is neither printed nor logged.

    python -m scripts.benchmarks.demo_learning_rate MODEL --rates 1e-5,2e-5,5e-5 \
        --output scripts/benchmarks/results/demo_learning_rate.log

(Before 2026-12-05 this script scored the demo's held-out articles and STS-B test: the log's
earlier lines.)
"""

import json
import os
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import typer

from declutr import Encoder
from declutr.demo.settings import PRETRAINED_MAX_DOCUMENTS
from declutr.evaluation import evaluate
from declutr.inference.options import REFERENCE_RUNTIME
from scripts.benchmarks.demo_validation import validation_corpus

CONFIG = Path(__file__).resolve().parents[2] / "training_config" / "quickstart.jsonnet"


def one_nn_accuracy(vectors: np.ndarray, labels: List[str]) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy by cosine."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    return float(np.mean([labels[i] == labels[j] for i, j in enumerate(nearest)]))


def scores(model: str, heldout: List[Dict[str, str]], senteval: Path) -> Dict[str, float]:
    encoder = Encoder(model, max_length=64, **REFERENCE_RUNTIME)
    vectors = encoder.encode([record["text"] for record in heldout])
    labels = [record["category"] for record in heldout]
    sts = evaluate(
        Encoder(model, max_length=128, **REFERENCE_RUNTIME), senteval, "STSBenchmark",
        show_progress=False,
    )  # fmt: skip
    return {
        "bbc_1nn_accuracy": one_nn_accuracy(vectors, labels),
        "stsb_dev_spearman": sts["results"]["STSBenchmark"]["dev_spearman"],
    }


def train(model: str, corpus_dir: Path, rate: float, output: Path) -> Dict[str, float]:
    from allennlp.commands.train import train_model_from_file

    os.environ["DECLUTR_MODEL"] = model  # the quickstart config's encoder
    overrides = {
        "train_data_path": str(corpus_dir / "train.txt"),
        "validation_data_path": str(corpus_dir / "heldout.jsonl"),
        "trainer.optimizer.lr": rate,
        "trainer.optimizer.correct_bias": True,
    }
    train_model_from_file(str(CONFIG), str(output), overrides=json.dumps(overrides), force=True)
    return json.loads((output / "metrics.json").read_text())


def main(
    model: str,
    senteval: Path = Path("/work/shared/data/senteval"),
    rates: str = "1e-5,2e-5,5e-5",
    work_dir: Path = Path("/tmp/demo_learning_rate"),
    output: Path = Path("scripts/benchmarks/results/demo_learning_rate.log"),
) -> None:
    corpus = validation_corpus(work_dir, PRETRAINED_MAX_DOCUMENTS)
    corpus_dir = corpus.train_path.parent
    heldout = [json.loads(line) for line in (corpus_dir / "heldout.jsonl").open()]
    num_train = sum(1 for _ in (corpus_dir / "train.txt").open())
    records = []
    started = time.perf_counter()
    records.append({"model": model, "rate": None, **scores(model, heldout, senteval)})
    records[-1]["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(records[-1]), flush=True)
    for rate in map(float, rates.split(",")):
        started = time.perf_counter()
        metrics = train(model, corpus_dir, rate, work_dir / f"lr{rate:g}")
        archive = str(work_dir / f"lr{rate:g}" / "model.tar.gz")
        record = {
            "model": model,
            "rate": rate,
            "training_documents": num_train,
            "validation_documents": len(heldout),
            **scores(archive, heldout, senteval),
            "validation_retrieval_accuracy": metrics["validation_retrieval_accuracy"],
            "training_duration": metrics["training_duration"],
            "seconds": round(time.perf_counter() - started, 1),
        }
        records.append(record)
        print(json.dumps(record), flush=True)
    with output.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    typer.run(main)
