"""Peak memory of streaming embedding: `Encoder.encode_file` and `allennlp predict` over files
of N lines, each run in a fresh process, reporting its peak RSS. Memory must stay flat in N.

    python benchmarks/embedding_memory.py --lines 10000 --lines 1000000

Builds a tiny encoder (2 layers, 32 dims) from scratch unless --model names one; lines are short
sentences drawn, seeded, from the fixture documents. Prints a table and one JSON line.
"""

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "documents.txt"

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
    """Run `command` in a child process; its peak RSS in MiB and its wall time in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=PROJECT_ROOT)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: run sizes in increasing order.
    return max(peak, before) / 1024, seconds


def main(
    lines: List[int] = typer.Option([10_000, 1_000_000], help="Line counts, increasing."),
    model: Optional[str] = typer.Option(None, help="Encoder path; default: a tiny local one."),
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if model is None:
            from declutr.common.from_scratch import build_encoder_from_scratch

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
        print(json.dumps({"benchmark": "embedding_memory", "model": model, "runs": rows}))


if __name__ == "__main__":
    typer.run(main)
