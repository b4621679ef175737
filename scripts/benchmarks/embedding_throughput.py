"""Embedding throughput: every path of declutr's `Encoder` (backend x precision) against
sentence-transformers' backends (torch, onnx, onnx dynamic int8, openvino) on the same model,
texts, batch size and maximum length. Each path runs in a process of its own
(`embedding_worker.py`: load, warm-up, `--repeats` passes, median), the paths alternating over
`--rounds` rounds. Prints each path's texts/s (and texts per CPU-second of its process, less
sensitive to other load on the machine) and its smallest cosine similarity against declutr's
float32 torch vectors, the fastest path of each tool whose vectors match (smallest
cosine >= `--min-cosine`) and their ratio, then one JSON line.

    python -m scripts.benchmarks.embedding_throughput --model ../shared/models/all-MiniLM-L6-v2

sentence-transformers with its ONNX and OpenVINO backends needs newer transformers than
declutr's pin, so its paths run in a separate venv (`--peer-venv`), created on first use with
`python -m venv` and `pip install -r scripts/benchmarks/peer_requirements.txt` from the registry.

With `--predict-texts N`, also `allennlp predict` (an archive of the same model) on the first N
texts: its start-up time (a one-line input) and its throughput without it.

Texts: a fixed, seeded sample of sentences (STS-B) and document openings of 20 to 120 words (the
shared corpus), from `--shared` (default ../shared).
"""

import csv
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
import typer

from declutr.inference.cpu import has_bf16_instructions

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = Path(os.environ.get("DECLUTR_SHARED", HERE.parents[2] / "shared"))
PEER_REQUIREMENTS = HERE / "peer_requirements.txt"
DEFAULT_PEER_VENV = Path.home() / ".cache" / "declutr-benchmarks" / "peer-venv"
REFERENCE = "declutr:torch:float32"
DEFAULT_PATHS = [
    REFERENCE,
    "declutr:torch:bfloat16",
    "declutr:onnx:float32",
    "declutr:openvino:float32",
    "declutr:openvino:bfloat16",
    "st:torch",
    "st:onnx",
    "st:onnx-int8",
    "st:openvino",
]


def sample_texts(
    shared: Path, num_texts: int, seed: int = 0, min_words: int = 20, max_words: int = 120
) -> List[str]:
    """Half STS-B sentences, half document openings of `min_words` to `max_words` words,
    shuffled (seeded)."""
    rng = random.Random(seed)
    sts = shared / "data/senteval/STS/STSBenchmark/sts-train.csv"
    with open(sts, encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    sentences = [row[5] for row in rows if len(row) > 6]
    documents = []
    with open(shared / "data/corpus/documents.jsonl", encoding="utf-8") as handle:
        for line in handle:
            words = json.loads(line)["text"].split()
            documents.append(" ".join(words[: rng.randint(min_words, max_words)]))
    texts = rng.sample(sentences, num_texts // 2) + rng.sample(
        documents, num_texts - num_texts // 2
    )
    rng.shuffle(texts)
    return texts


def padding(model: str, texts: List[str], batch_size: int, max_length: int) -> Dict[str, float]:
    """Padding tokens per real token when batches are cut after sorting by token count within
    chunks of `batch_size * CHUNK_BATCHES` texts (declutr's `Encoder`) and after sorting all
    texts by character count (sentence-transformers' `encode`)."""
    from transformers import AutoTokenizer

    from declutr.inference.encoder import CHUNK_BATCHES

    tokenizer = AutoTokenizer.from_pretrained(model)
    lengths = [min(len(ids), max_length) for ids in tokenizer(texts, verbose=False)["input_ids"]]
    chunk = batch_size * CHUNK_BATCHES
    by_tokens = []
    for start in range(0, len(texts), chunk):
        rows = range(start, min(start + chunk, len(texts)))
        by_tokens += sorted(rows, key=lambda row: -lengths[row])
    by_characters = sorted(range(len(texts)), key=lambda row: -len(texts[row]))

    def padded(order: List[int]) -> float:
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        total = sum(max(lengths[row] for row in batch) * len(batch) for batch in batches)
        return total / sum(lengths) - 1

    return {"declutr": padded(by_tokens), "sentence_transformers": padded(by_characters)}


def peer_python(venv: Path) -> Path:
    """The peer venv's python, after creating the venv and installing
    `peer_requirements.txt` if it is missing or was installed from other requirements."""
    python = venv / "bin" / "python"
    digest = hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()
    marker = venv / "declutr-peer-requirements.sha256"
    if python.exists() and marker.exists() and marker.read_text().strip() == digest:
        return python
    print(f"Installing the peer environment in {venv} (once) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "-r", str(PEER_REQUIREMENTS)]
    subprocess.run(pip, check=True)
    marker.write_text(digest + "\n")
    return python


def run_path(path: str, python: Path, model: str, texts: Path, output: Path, options: List[str]):
    """One path in a fresh process: its JSON result."""
    command = [str(python), str(HERE / "embedding_worker.py"), path, model, str(texts)]
    command += [str(output), *options]
    # Our own declutr, whatever is installed; the peer venv never imports it.
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1]), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cosines(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.sum(vectors * reference, axis=1) / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    )


def load_average() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "?"


def main(
    model: str = typer.Option(str(DEFAULT_SHARED / "models/all-MiniLM-L6-v2")),
    shared: Path = typer.Option(DEFAULT_SHARED),
    num_texts: int = typer.Option(3000),
    batch_size: int = typer.Option(32),
    max_length: int = typer.Option(128, help="Tokens per text, special tokens included."),
    repeats: int = typer.Option(3, help="Passes per process; their median is the figure."),
    rounds: int = typer.Option(2, help="Times every path runs, alternating."),
    paths: List[str] = typer.Option(DEFAULT_PATHS, help="declutr:BACKEND:PRECISION or st:X."),
    peer_venv: Path = typer.Option(DEFAULT_PEER_VENV, help="venv for sentence-transformers."),
    min_cosine: float = typer.Option(0.9999, help="Tolerance for 'matches float32'."),
    predict_texts: int = typer.Option(
        0, help="Also time `allennlp predict` on this many texts (0: skip it)."
    ),
) -> None:
    if REFERENCE not in paths:
        paths = [REFERENCE, *paths]
    if has_bf16_instructions() is False and "declutr:torch:bfloat16" in paths:
        print("declutr:torch:bfloat16 left out: this CPU has no bfloat16 instructions (refused).")
        paths = [path for path in paths if path != "declutr:torch:bfloat16"]
    print(f"load average at start: {load_average()}", flush=True)
    texts = sample_texts(shared, num_texts)
    options = ["--batch-size", str(batch_size), "--max-length", str(max_length)]
    options += ["--repeats", str(repeats)]
    runs: Dict[str, List[dict]] = {path: [] for path in paths}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        peer = peer_python(peer_venv) if any(p.startswith("st:") for p in paths) else None
        for round_index in range(rounds):
            for index, path in enumerate(paths):
                python = Path(sys.executable) if path.startswith("declutr:") else peer
                output = work / f"{index}-{round_index}.npy"
                result = run_path(path, python, model, work / "texts.json", output, options)
                runs[path].append(result)
                print(f"round {round_index + 1}: {path:28s} {result['texts_per_s']:8.1f} texts/s")
        reference = np.load(work / "0-0.npy")
        exports = export_check(model, peer, work, options, reference) if peer else None
        rows = [
            summary(path, runs[path], reference, work / f"{i}-0.npy")
            for i, path in enumerate(paths)
        ]
    print_table(rows, min_cosine)
    padded = padding(model, texts, batch_size, max_length)
    print(
        f"Padding per real token: declutr {padded['declutr']:.3f} (token counts, sorted by "
        f"chunk), sentence-transformers {padded['sentence_transformers']:.3f} (characters)"
    )
    report = {
        "benchmark": "embedding_throughput",
        "model": model,
        "num_texts": num_texts,
        "batch_size": batch_size,
        "max_length": max_length,
        "repeats": repeats,
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "load_average_end": load_average(),
        "rows": rows,
        "target": target(rows, min_cosine),
        "export_check": exports,
        "padding": padded,
    }
    if predict_texts > 0:
        from declutr import Encoder

        encoder = Encoder(model, device="cpu", max_length=max_length - 2)
        report["allennlp_predict"] = measure_predict(
            model, encoder, texts[:predict_texts], batch_size, max_length, repeats
        )
    print(f"load average at end: {load_average()}")
    print(json.dumps(report))


def export_check(
    model: str, peer: Path, work: Path, options: List[str], reference: np.ndarray
) -> Dict[str, float]:
    """Export `model` with declutr's `--backend openvino --backend onnx` files, load the export
    with sentence-transformers' `backend="openvino"` / `"onnx"` in the peer venv, and return
    each backend's smallest cosine against declutr's float32 vectors."""
    from declutr import Encoder

    exported = work / "export"
    Encoder(model, device="cpu").save_pretrained(exported, backends=["openvino", "onnx"])
    result = {}
    for backend in ("openvino", "onnx"):
        output = work / f"export-{backend}.npy"
        once = [*options[:4], "--repeats", "1"]
        run_path(f"st:{backend}", peer, str(exported), work / "texts.json", output, once)
        result[backend] = float(cosines(np.load(output), reference).min())
        print(
            f"sentence-transformers, backend={backend!r}, on declutr's export: min cosine "
            f"{result[backend]:.5f} against declutr's float32 vectors"
        )
    return result


def summary(path: str, results: List[dict], reference: np.ndarray, vectors: Path) -> dict:
    similarity = cosines(np.load(vectors), reference)
    rates = [result["texts_per_s"] for result in results]
    return {
        "path": path,
        "texts_per_s": statistics.median(rates),
        "texts_per_s_by_round": rates,
        "texts_per_cpu_s": statistics.median(result["texts_per_cpu_s"] for result in results),
        "min_cosine": float(similarity.min()),
        "mean_cosine": float(similarity.mean()),
    }


def target(rows: List[dict], min_cosine: float) -> Optional[dict]:
    """The fastest matching path of each tool and their ratio."""
    matching = [row for row in rows if row["min_cosine"] >= min_cosine]
    ours = [row for row in matching if row["path"].startswith("declutr:")]
    theirs = [row for row in matching if row["path"].startswith("st:")]
    if not ours or not theirs:
        return None
    best_ours = max(ours, key=lambda row: row["texts_per_s"])
    best_theirs = max(theirs, key=lambda row: row["texts_per_s"])
    return {
        "ours": best_ours["path"],
        "theirs": best_theirs["path"],
        "ratio": best_ours["texts_per_s"] / best_theirs["texts_per_s"],
        "ratio_per_cpu_s": best_ours["texts_per_cpu_s"] / best_theirs["texts_per_cpu_s"],
    }


def print_table(rows: List[dict], min_cosine: float) -> None:
    print(
        "\n| path | texts/s (median of rounds) | by round | texts per CPU-s | min cosine |", end=""
    )
    print(" mean cosine |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        by_round = " / ".join(f"{rate:.1f}" for rate in row["texts_per_s_by_round"])
        print(
            f"| {row['path']} | {row['texts_per_s']:.1f} | {by_round} | "
            f"{row['texts_per_cpu_s']:.1f} | "
            f"{row['min_cosine']:.5f} | {row['mean_cosine']:.5f} |"
        )
    best = target(rows, min_cosine)
    if best:
        print(
            f"\nFastest at min cosine >= {min_cosine}: {best['ours']} / {best['theirs']} = "
            f"{best['ratio']:.2f} (per CPU-second: {best['ratio_per_cpu_s']:.2f})"
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
