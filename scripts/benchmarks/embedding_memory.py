"""Peak memory of streaming embedding: `Encoder.encode_file` and `allennlp predict` over files
of N lines, each run in a fresh process, reporting its peak RSS. Memory must stay flat in N.

    python -m scripts.benchmarks.embedding_memory --lines 10000 --lines 1000000

Builds a tiny encoder (2 layers, 32 dims) from scratch unless --model names one; lines are short
sentences drawn, seeded, from the fixture documents. Prints a table and one JSON line.
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "documents.txt"

TRAIN = """
import json, os, sys
import declutr
declutr.register()
from allennlp.commands.train import train_model_from_file
model, documents, out = sys.argv[1:4]
os.environ["DECLUTR_MODEL"] = model  # the quickstart config's encoder
overrides = {"train_data_path": documents,
             "dataset_reader.max_span_len": 32, "dataset_reader.min_span_len": 8,
             "data_loader.batch_size": 4}
train_model_from_file("training_config/quickstart.jsonnet", out, overrides=json.dumps(overrides))
"""

ENCODE = """
import sys
from declutr import Encoder
Encoder(sys.argv[1], batch_size=128).encode_file(sys.argv[2], sys.argv[3], show_progress=False)
"""


def write_lines(path: Path, num_lines: int, seed: int = 0) -> None:
    words = FIXTURES.read_text(encoding="utf-8").split()
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(num_lines):
            start = rng.randrange(len(words) - 40)
            out.write(" ".join(words[start : start + rng.randint(5, 40)]) + "\n")


def peak_rss_of(command: List[str]) -> tuple:
    """Run `command` in a child process; its own peak RSS in MiB and its wall time in seconds."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"{command[:4]} failed:\n{errors.read().decode()[-3000:]}")
    return usage.ru_maxrss / 1024, time.perf_counter() - start


def main(
    lines: List[int] = typer.Option([10_000, 1_000_000], help="Line counts, increasing."),
    model: Optional[str] = typer.Option(None, help="Encoder path; default: a tiny local one."),
    predict_lines: List[int] = typer.Option(
        [], help="Also measure `allennlp predict` (JSON lines in and out) at these line counts."
    ),
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if model is None:
            from declutr.testing.from_scratch import build_encoder_from_scratch

            texts = FIXTURES.read_text(encoding="utf-8").splitlines()
            model = str(build_encoder_from_scratch(texts, work / "encoder"))
        rows = []
        for num_lines in sorted(lines):
            source = work / f"{num_lines}.txt"
            write_lines(source, num_lines)
            rss, seconds = peak_rss_of(
                [sys.executable, "-c", ENCODE, model, str(source), str(work / "out.npy")]
            )
            rows.append(
                {"lines": num_lines, "peak_rss_mib": round(rss, 1), "seconds": round(seconds, 1)}
            )
            print(
                f"Encoder.encode_file {num_lines:>9,} lines: {rss:7.1f} MiB peak, {seconds:6.1f} s"
            )
        predict_rows = measure_predict(work, model, predict_lines) if predict_lines else []
        print(
            json.dumps(
                {
                    "benchmark": "embedding_memory",
                    "model": model,
                    "runs": rows,
                    "predict_runs": predict_rows,
                }
            )
        )


def measure_predict(work: Path, model: str, line_counts: List[int]) -> List[dict]:
    """Peak RSS of `allennlp predict` over JSON lines, with an archive trained for seconds."""
    archive_dir = work / "archive"
    subprocess.run(
        [sys.executable, "-c", TRAIN, model, str(FIXTURES), str(archive_dir)],
        check=True,
        capture_output=True,
        cwd=PROJECT_ROOT,
    )
    rows = []
    for num_lines in sorted(line_counts):
        text_file = work / f"{num_lines}.txt"
        write_lines(text_file, num_lines)
        source = work / f"{num_lines}.jsonl"
        with open(text_file, encoding="utf-8") as lines, open(source, "w") as out:
            for line in lines:
                out.write(json.dumps({"text": line.rstrip()}) + "\n")
        command = [sys.executable, "-m", "allennlp", "predict", str(archive_dir / "model.tar.gz")]
        command += [str(source), "--output-file", str(work / "predict.jsonl"), "--silent"]
        command += ["--include-package", "declutr", "--batch-size", "128"]
        rss, seconds = peak_rss_of(command)
        rows.append(
            {"lines": num_lines, "peak_rss_mib": round(rss, 1), "seconds": round(seconds, 1)}
        )
        print(f"allennlp predict {num_lines:>12,} lines: {rss:7.1f} MiB peak, {seconds:6.1f} s")
    return rows


if __name__ == "__main__":
    typer.run(main)
