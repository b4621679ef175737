"""Embedding throughput: declutr's `Encoder.encode` against `SentenceTransformer.encode` on the
same model, texts, batch size and maximum length, measured side by side in one process with
alternating repeats (A B A B ...). Prints medians, the ratio ours/theirs and the agreement of the
vectors, then one JSON line.

    python benchmarks/embedding_throughput.py --model ../shared/models/all-MiniLM-L6-v2

Then `allennlp predict` (an archive of the same model) on the first `--predict-texts` texts at
the first batch size: its start-up time (a one-line input) and its throughput without it.

Texts: a fixed, seeded sample of sentences (STS-B) and document openings (the shared corpus) of
mixed lengths, from `--shared` (default ../shared).
"""

import csv
import json
import random
import statistics
import time
from pathlib import Path
from typing import Callable, List, Optional

import numpy as np
import torch
import typer

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"


def sample_texts(shared: Path, num_texts: int, seed: int = 0) -> List[str]:
    """Half STS-B sentences, half document openings of 20 to 300 words, shuffled (seeded)."""
    rng = random.Random(seed)
    sts = shared / "data/senteval/STS/STSBenchmark/sts-train.csv"
    with open(sts, encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    sentences = [row[5] for row in rows if len(row) > 6]
    documents = []
    with open(shared / "data/corpus/documents.jsonl", encoding="utf-8") as handle:
        for line in handle:
            words = json.loads(line)["text"].split()
            documents.append(" ".join(words[: rng.randint(20, 300)]))
    texts = rng.sample(sentences, num_texts // 2) + rng.sample(
        documents, num_texts - num_texts // 2
    )
    rng.shuffle(texts)
    return texts


def timed(run: Callable[[], np.ndarray]) -> tuple:
    start = time.perf_counter()
    vectors = run()
    return time.perf_counter() - start, vectors


def main(
    model: str = typer.Option(str(DEFAULT_SHARED / "models/all-MiniLM-L6-v2")),
    shared: Path = typer.Option(DEFAULT_SHARED),
    num_texts: int = typer.Option(5000),
    batch_sizes: List[int] = typer.Option([32, 128]),
    max_length: int = typer.Option(128, help="Tokens per text, special tokens included."),
    repeats: int = typer.Option(3),
    device: str = typer.Option("cpu"),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: torch's)."),
    predict_texts: int = typer.Option(
        1000, help="Texts for `allennlp predict` at the first batch size (0: skip it)."
    ),
) -> None:
    from sentence_transformers import SentenceTransformer

    from declutr import Encoder

    if threads:
        torch.set_num_threads(threads)
    texts = sample_texts(shared, num_texts)
    # Encoder's max_length counts subword tokens without the special ones, as the reader does.
    ours = Encoder(model, device=device, max_length=max_length - 2)
    theirs = SentenceTransformer(model, device=device)
    theirs.max_seq_length = max_length
    results = []
    for batch_size in batch_sizes:

        def run_ours(batch_size: int = batch_size, texts: List[str] = texts) -> np.ndarray:
            return ours.encode(texts, batch_size=batch_size, show_progress=False)

        def run_theirs(batch_size: int = batch_size, texts: List[str] = texts) -> np.ndarray:
            return theirs.encode(texts, batch_size=batch_size)

        run_ours(texts=texts[:256]), run_theirs(texts=texts[:256])  # warm-up
        ours_times, theirs_times = [], []
        for _ in range(repeats):
            seconds, ours_vectors = timed(run_ours)
            ours_times.append(seconds)
            seconds, theirs_vectors = timed(run_theirs)
            theirs_times.append(seconds)
        cosines = np.sum(ours_vectors * theirs_vectors, axis=1) / (
            np.linalg.norm(ours_vectors, axis=1) * np.linalg.norm(theirs_vectors, axis=1)
        )
        row = {
            "batch_size": batch_size,
            "ours_texts_per_s": num_texts / statistics.median(ours_times),
            "theirs_texts_per_s": num_texts / statistics.median(theirs_times),
            "min_cosine": float(cosines.min()),
        }
        row["ratio"] = row["ours_texts_per_s"] / row["theirs_texts_per_s"]
        results.append(row)
        print(
            f"batch {batch_size:4d}: declutr {row['ours_texts_per_s']:8.1f} texts/s | "
            f"sentence-transformers {row['theirs_texts_per_s']:8.1f} texts/s | "
            f"ratio {row['ratio']:.3f} | min cosine {row['min_cosine']:.6f}"
        )
    predict = None
    if predict_texts > 0:
        predict = measure_predict(
            model, ours, texts[:predict_texts], batch_sizes[0], max_length, repeats
        )
    print(
        json.dumps(
            {
                "benchmark": "embedding_throughput",
                "allennlp_predict": predict,
                "model": model,
                "device": device,
                "threads": torch.get_num_threads(),
                "num_texts": num_texts,
                "max_length": max_length,
                "repeats": repeats,
                "results": results,
            }
        )
    )


def write_archive(model: str, max_length: int, directory: Path) -> Path:
    """An AllenNLP archive of a "declutr" model whose transformer is `model`, unchanged (what
    training for zero steps would write), for `allennlp predict`."""
    from allennlp.common import Params
    from allennlp.data import Vocabulary
    from allennlp.models import Model
    from allennlp.models.archival import archive_model

    config = {
        "dataset_reader": {
            "type": "declutr",
            "tokenizer": {"type": "pretrained_transformer", "model_name": model},
            "max_length": max_length,
        },
        "train_data_path": "unused",
        "model": {
            "type": "declutr",
            "text_field_embedder": {
                "token_embedders": {
                    "tokens": {
                        "type": "pretrained_transformer",
                        "model_name": model,
                        "transformer_kwargs": {"add_pooling_layer": False},
                    }
                }
            },
            "loss": {"type": "nt_xent"},
            "masked_language_modeling": False,
        },
        "trainer": {"optimizer": "adam"},
    }
    directory.mkdir(parents=True, exist_ok=True)
    net = Model.from_params(
        vocab=Vocabulary.empty(), params=Params(json.loads(json.dumps(config["model"])))
    )
    torch.save(net.state_dict(), directory / "best.th")
    Vocabulary.empty().save_to_files(str(directory / "vocabulary"))
    (directory / "config.json").write_text(json.dumps(config))
    archive_model(str(directory))
    return directory / "model.tar.gz"


def measure_predict(
    model: str, encoder, texts: List[str], batch_size: int, max_length: int, repeats: int
) -> dict:
    """`allennlp predict` on `texts` (JSON lines) and on one line, in fresh processes: start-up
    is the one-line run's wall time, throughput is texts / (full run - start-up). Vectors are
    compared with `encoder`'s."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        archive = write_archive(model, max_length - 2, work / "archive")
        inputs = {"one": texts[:1], "all": texts}
        for name, lines in inputs.items():
            with open(work / f"{name}.jsonl", "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps({"text": text}) + "\n" for text in lines)

        def run(name: str) -> float:
            command = [sys.executable, "-m", "allennlp", "predict", str(archive)]
            command += [str(work / f"{name}.jsonl"), "--output-file", str(work / f"{name}.out")]
            command += ["--batch-size", str(batch_size), "--silent", "--cuda-device", "-1"]
            command += ["--include-package", "declutr"]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            return time.perf_counter() - start

        startups, fulls = [], []
        for _ in range(repeats):
            startups.append(run("one"))
            fulls.append(run("all"))
        with open(work / "all.out", encoding="utf-8") as handle:
            predicted = np.array([json.loads(line)["embeddings"] for line in handle])
    startup = statistics.median(startups)
    texts_per_s = (len(texts) - 1) / (statistics.median(fulls) - startup)
    start = time.perf_counter()
    ours = encoder.encode(texts, batch_size=batch_size, show_progress=False)
    encoder_texts_per_s = len(texts) / (time.perf_counter() - start)
    cosines = np.sum(ours * predicted, axis=1) / (
        np.linalg.norm(ours, axis=1) * np.linalg.norm(predicted, axis=1)
    )
    result = {
        "texts": len(texts),
        "batch_size": batch_size,
        "startup_s": startup,
        "texts_per_s_excluding_startup": texts_per_s,
        "encoder_texts_per_s": encoder_texts_per_s,
        "min_cosine_vs_encoder": float(cosines.min()),
    }
    print(
        f"allennlp predict, batch {batch_size}: start-up {startup:.1f} s, then "
        f"{texts_per_s:.1f} texts/s (Encoder {encoder_texts_per_s:.1f} texts/s on the same "
        f"{len(texts)} texts) | min cosine vs Encoder {result['min_cosine_vs_encoder']:.6f}"
    )
    return result


if __name__ == "__main__":
    typer.run(main)
