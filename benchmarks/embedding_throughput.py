"""Embedding throughput: declutr's `Encoder.encode` against `SentenceTransformer.encode` on the
same model, texts, batch size and maximum length, measured side by side in one process with
alternating repeats (A B A B ...). Prints medians, the ratio ours/theirs and the agreement of the
vectors, then one JSON line.

    python benchmarks/embedding_throughput.py --model ../shared/models/all-MiniLM-L6-v2

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
    print(
        json.dumps(
            {
                "benchmark": "embedding_throughput",
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


if __name__ == "__main__":
    typer.run(main)
