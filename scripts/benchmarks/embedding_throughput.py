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

from declutr.inference.cpu import REPORTED_FLAGS, cpu_flags, has_bf16_instructions

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = Path(os.environ.get("DECLUTR_SHARED", HERE.parents[2] / "shared"))
PEER_REQUIREMENTS = HERE / "peer_requirements.txt"
DEFAULT_PEER_VENV = Path.home() / ".cache" / "declutr-benchmarks" / "peer-venv"
REFERENCE = "declutr:torch:float32"
DEFAULT_PATHS = [
    REFERENCE,
    "declutr:auto:auto",  # the default: what `Encoder(model)` chooses on this machine
    "declutr:torch:bfloat16",
    "declutr:onnx:float32",
    "declutr:openvino:float32",
    "declutr:openvino:bfloat16",
    "declutr:openvino:int8",
    "st:torch",
    "st:onnx",
    "st:onnx-O1",
    "st:onnx-O2",
    "st:onnx-O3",
    "st:onnx-int8",
    "st:openvino",
    "st:openvino-int8",
]
CALIBRATION_TEXTS = 300  # document openings of the corpus (another seed than the timed texts)


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


def calibration_texts(shared: Path, count: int = CALIBRATION_TEXTS, seed: int = 1) -> List[str]:
    """int8 calibration: openings (20 to 120 words) of `count` corpus documents, the user's own
    texts as far as this benchmark has them; never the STS-B or BBC texts scored."""
    rng = random.Random(seed)
    with open(shared / "data/corpus/documents.jsonl", encoding="utf-8") as handle:
        documents = [json.loads(line)["text"].split() for line in handle]
    return [" ".join(words[: rng.randint(20, 120)]) for words in rng.sample(documents, count)]


def quality_data(shared: Path, limit: int = 0) -> Dict:
    """What int8 is scored on, once (docs/performance.md#int8): STS-B test pairs (Spearman) and
    every distinct BBC News article (leave-one-out 1-NN category accuracy); `limit` (smoke
    runs) keeps the first `limit` pairs and every `n`th article, `limit` of them."""
    from declutr.demo.corpus import read_bbc
    from declutr.evaluation.tasks import read_sts_benchmark

    pairs = read_sts_benchmark(shared / "data/senteval/STS/STSBenchmark/sts-test.csv")
    articles = read_bbc()
    n = limit or len(pairs.first)
    if limit:
        articles = articles[:: max(1, len(articles) // limit)][:limit]
    texts = [*pairs.first[:n], *pairs.second[:n], *(text for _, text in articles)]
    return {"texts": texts, "pairs": n, "scores": pairs.scores[:n].tolist(),
            "labels": [category for category, _ in articles]}  # fmt: skip


def quality_scores(vectors: np.ndarray, data: Dict) -> Dict[str, float]:
    """STS-B test Spearman (cosine) and BBC 1-NN accuracy, in points."""
    from scipy.stats import spearmanr

    from declutr.evaluation.before_after import one_nn_accuracy

    n = data["pairs"]
    first, second, articles = vectors[:n], vectors[n : 2 * n], vectors[2 * n :]
    similarity = cosines(first, second)
    return {
        "stsb_test": 100 * float(spearmanr(similarity, data["scores"]).statistic),
        "bbc_1nn": 100 * one_nn_accuracy(articles, data["labels"]),
    }


def machine() -> Dict:
    """The CPU every figure was measured on: its model name and the instruction sets that decide
    the paths (`declutr.inference.cpu.REPORTED_FLAGS`)."""
    name = "?"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.partition(":")[2].strip()
                break
    flags = sorted((cpu_flags() or frozenset()) & REPORTED_FLAGS)
    return {"cpu": name, "cores": os.cpu_count(), "flags": flags}


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


def run_path(
    path: str, python: Path, model: str, texts: Path, output: Path, options: List[str],
    threads: int,
):  # fmt: skip
    """One path in a fresh process, on `threads` threads: its JSON result."""
    command = [str(python), str(HERE / "embedding_worker.py"), path, model, str(texts)]
    command += [str(output), *options]
    # Our own declutr, whatever is installed; the peer venv never imports it. The default path
    # chooses for itself (no DECLUTR_BACKEND / DECLUTR_PRECISION from the caller).
    env = {key: value for key, value in os.environ.items() if not key.startswith("DECLUTR_")}
    env |= {"PYTHONPATH": str(HERE.parents[1]), "TOKENIZERS_PARALLELISM": "false"}
    env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
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
    threads: int = typer.Option(os.cpu_count(), help="Threads of every library, every path."),
    quality: bool = typer.Option(True, help="Score float32, auto and int8 on STS-B test, BBC."),
    quality_limit: int = typer.Option(0, help="Smoke runs: N STS-B pairs and N articles only."),
    predict_texts: int = typer.Option(
        0, help="Also time `allennlp predict` on this many texts (0: skip it)."
    ),
) -> None:
    if REFERENCE not in paths:
        paths = [REFERENCE, *paths]
    if has_bf16_instructions() is False and "declutr:torch:bfloat16" in paths:
        print("declutr:torch:bfloat16 left out: this CPU has no bfloat16 instructions (refused).")
        paths = [path for path in paths if path != "declutr:torch:bfloat16"]
    print(f"machine: {machine()}; {threads} threads; load average {load_average()}", flush=True)
    texts = sample_texts(shared, num_texts)
    options = ["--batch-size", str(batch_size), "--max-length", str(max_length)]
    options += ["--repeats", str(repeats), "--threads", str(threads)]
    runs: Dict[str, List[dict]] = {path: [] for path in paths}
    scored: Dict[str, Dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        calibration = work / "calibration.json"
        calibration.write_text(json.dumps(calibration_texts(shared)), encoding="utf-8")
        options += ["--calibration", str(calibration)]
        data = quality_data(shared, quality_limit) if quality else None
        if data:
            (work / "quality.json").write_text(json.dumps(data["texts"]), encoding="utf-8")
        peer = peer_python(peer_venv) if any(p.startswith("st:") for p in paths) else None
        for round_index in range(rounds):
            for index, path in enumerate(paths):
                python = Path(sys.executable) if path.startswith("declutr:") else peer
                output = work / f"{index}-{round_index}.npy"
                extra = []
                if data and round_index == 0 and (path in (REFERENCE, "declutr:auto:auto")
                                                  or "int8" in path):  # fmt: skip
                    extra = ["--quality", str(work / "quality.json")]
                result = run_path(path, python, model, work / "texts.json", output,
                                  [*options, *extra], threads)  # fmt: skip
                runs[path].append(result)
                if extra:
                    scored[path] = quality_scores(np.load(output.with_suffix(".quality.npy")), data)
                print(f"round {round_index + 1}: {path:28s} {result['texts_per_s']:8.1f} texts/s"
                      + (f"  {scored[path]}" if path in scored and round_index == 0 else ""),
                      flush=True)  # fmt: skip
        reference = np.load(work / "0-0.npy")
        int8_index = (
            paths.index("declutr:openvino:int8") if "declutr:openvino:int8" in paths else -1
        )
        int8_vectors = np.load(work / f"{int8_index}-0.npy") if int8_index >= 0 else None
        exports = (
            export_check(model, peer, work, options, reference, threads, int8_vectors)
            if peer
            else None
        )
        rows = [
            summary(path, runs[path], reference, work / f"{i}-0.npy") | scored.get(path, {})
            for i, path in enumerate(paths)
        ]
    print_table(rows, min_cosine)
    int8 = int8_targets(rows, min_cosine)
    if int8:
        print(json.dumps({"int8": int8}))
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
        "machine": machine(),
        "threads": threads,
        "int8": int8,
        "quality": {
            "scored": quality,
            "limit": quality_limit or "all",
            "max_length": max_length,
            "calibration": f"{CALIBRATION_TEXTS} corpus openings",
        },
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
    model: str, peer: Path, work: Path, options: List[str], reference: np.ndarray, threads: int,
    int8: Optional[np.ndarray] = None,
) -> Dict[str, float]:  # fmt: skip
    """Export `model` with declutr's `--backend openvino --backend onnx` files and its int8
    model (calibrated as the int8 path is), load the export with sentence-transformers'
    `backend="openvino"` / `"onnx"` (and the int8 file) in the peer venv, and return each one's
    smallest cosine against declutr's float32 vectors (the int8 file's also against declutr's
    own int8 vectors, `int8`)."""
    from declutr import Encoder
    from declutr.inference.quantize import save_int8

    exported = work / "export"
    encoder = Encoder(model, device="cpu", backend="torch", precision="float32")
    encoder.save_pretrained(exported, backends=["openvino", "onnx"])
    calibration = json.loads((work / "calibration.json").read_text(encoding="utf-8"))
    save_int8(encoder, exported, calibration)
    result = {}
    once = [*options[:4], "--repeats", "1", "--threads", str(threads)]
    for backend in ("openvino", "onnx", "openvino-saved8"):
        output = work / f"export-{backend}.npy"
        run_path(f"st:{backend}", peer, str(exported), work / "texts.json", output, once, threads)
        vectors = np.load(output)
        result[backend] = float(cosines(vectors, reference).min())
        print(
            f"sentence-transformers, backend={backend!r}, on declutr's export: min cosine "
            f"{result[backend]:.5f} against declutr's float32 vectors"
        )
        if backend == "openvino-saved8" and int8 is not None:
            result["openvino-saved8_vs_declutr_int8"] = float(cosines(vectors, int8).min())
            print(f"  ... and {result['openvino-saved8_vs_declutr_int8']:.5f} against declutr's "
                  "int8 vectors")  # fmt: skip
    return result


def int8_targets(rows: List[dict], min_cosine: float) -> Optional[Dict]:
    """declutr's fastest int8 path against its fastest float32 path (precision float32, and any
    path within `min_cosine`) and against sentence-transformers' fastest int8 path, with the
    quality of each (issue #20's targets: >= 1.5x, >= 1.2x at equal or better STS-B, within
    0.5 points of float32)."""
    by_path = {row["path"]: row for row in rows}
    ours = [row for row in rows if row["path"].startswith("declutr:") and "int8" in row["path"]]
    theirs = [row for row in rows if row["path"].startswith("st:") and "int8" in row["path"]]
    float32 = [row for row in rows if row["path"].startswith("declutr:")
               and row["path"].endswith(":float32")]  # fmt: skip
    matching = [row for row in rows if row["path"].startswith("declutr:")
                and row["min_cosine"] >= min_cosine]  # fmt: skip
    if not ours or not float32:
        return None
    best = max(ours, key=lambda row: row["texts_per_s"])
    fastest32 = max(float32, key=lambda row: row["texts_per_s"])
    fastest = max(matching, key=lambda row: row["texts_per_s"])
    reference = by_path.get(REFERENCE, {})
    found = {
        "ours": best["path"],
        "vs_fastest_float32": [fastest32["path"], best["texts_per_s"] / fastest32["texts_per_s"]],
        "vs_fastest_matching": [fastest["path"], best["texts_per_s"] / fastest["texts_per_s"]],
    }
    for name in ("stsb_test", "bbc_1nn"):
        if name in best and name in reference:
            found[f"{name}_minus_float32"] = best[name] - reference[name]
    if theirs:
        peer = max(theirs, key=lambda row: row["texts_per_s"])
        found["vs_fastest_st_int8"] = [peer["path"], best["texts_per_s"] / peer["texts_per_s"]]
        if "stsb_test" in best and "stsb_test" in peer:
            found["stsb_test_minus_st_int8"] = best["stsb_test"] - peer["stsb_test"]
    return found


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
        "threads": results[0].get("threads"),
        "runtime": results[0].get("runtime"),  # declutr's: what it ran, and how it was chosen
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
    print("\n| path | texts/s (median of rounds) | by round | texts per CPU-s | min cosine | "
          "mean cosine | STS-B test ρ | BBC 1-NN |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        by_round = " / ".join(f"{rate:.1f}" for rate in row["texts_per_s_by_round"])
        path = row["path"]
        if path == "declutr:auto:auto" and row.get("runtime"):
            path += f" (= {row['runtime']['backend']}:{row['runtime']['precision']})"
        quality = " | ".join(
            f"{row[name]:.2f}" if name in row else "-" for name in ("stsb_test", "bbc_1nn")
        )
        print(
            f"| {path} | {row['texts_per_s']:.1f} | {by_round} | {row['texts_per_cpu_s']:.1f} | "
            f"{row['min_cosine']:.5f} | {row['mean_cosine']:.5f} | {quality} |"
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
