"""Gradient caching: peak memory and speed of one training step with and without
`gradient_cache_chunk_size`, each configuration in a fresh process (peak RSS on the CPU, peak
allocated memory on a GPU). Prints a table and one JSON line.

    python -m scripts.benchmarks.gradient_cache_memory --batch-size 64 --chunk-size 8
"""

import json
import resource
import subprocess
import sys
from pathlib import Path

import typer

DEFAULT_SHARED = Path(__file__).resolve().parents[3] / "shared"

STEP = """
import json, pathlib, sys, time, torch
from allennlp.nn.util import move_to_device
from scripts.benchmarks.training_throughput import our_model, read_documents, sample_batches
model, shared, batch_size, max_length, chunk, device = sys.argv[1:7]
batch_size, max_length = int(batch_size), int(max_length)
chunk = None if chunk == "none" else int(chunk)
documents = read_documents(pathlib.Path(shared), 4 * batch_size)
batches = sample_batches(model, documents, batch_size, max_length)[:3]
net = our_model(model, chunk).train().to(device)
optimizer = torch.optim.AdamW(net.parameters(), lr=1e-5)
times = []
for batch in batches:
    batch = move_to_device(batch, torch.device(device))
    start = time.perf_counter()
    net(**batch)["loss"].backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    times.append(time.perf_counter() - start)
keys = ("anchors", "positives")
tokens = sum(int(b[k]["tokens"]["mask"].sum()) for b in batches for k in keys)
gpu = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
print(json.dumps({"tokens_per_s": tokens / sum(times), "gpu_peak_mib": gpu}))
"""


def run(args: list) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = subprocess.run(
        [sys.executable, "-c", STEP, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["peak_rss_mib"] = max(before, after) / 1024
    return measured


def main(
    model: str = typer.Option(str(DEFAULT_SHARED / "models/all-MiniLM-L6-v2")),
    shared: Path = typer.Option(DEFAULT_SHARED),
    batch_size: int = typer.Option(64, help="Anchor/positive pairs per step."),
    max_length: int = typer.Option(128),
    chunk_size: int = typer.Option(8, help="Spans per chunk with gradient caching."),
    device: str = typer.Option("cpu"),
) -> None:
    # Cached first: ru_maxrss of children only grows, so the smaller peak must come first.
    rows = {}
    for label, chunk in [("cached", str(chunk_size)), ("uncached", "none")]:
        rows[label] = run([model, str(shared), str(batch_size), str(max_length), chunk, device])
        print(
            f"{label:9s} peak RSS {rows[label]['peak_rss_mib']:8.0f} MiB | "
            f"GPU peak {rows[label]['gpu_peak_mib'] or 0:8.0f} MiB | "
            f"{rows[label]['tokens_per_s']:8.0f} tokens/s"
        )
    print(
        json.dumps(
            {
                "benchmark": "gradient_cache_memory",
                "model": model,
                "batch_size": batch_size,
                "max_length": max_length,
                "chunk_size": chunk_size,
                "device": device,
                "results": rows,
            }
        )
    )


if __name__ == "__main__":
    typer.run(main)
