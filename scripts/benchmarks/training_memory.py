"""Peak memory of a training step: our DeCLUTR step (forward, backward, AdamW) against the
sentence-transformers step with MultipleNegativesRankingLoss, on the same anchor/positive token
ids, at several batch sizes. Each measurement runs in a fresh process: the model is loaded, the
peak-RSS mark is reset (Linux `/proc/self/clear_refs`), then two steps run, and the process
reports its peak RSS and how far that is above its RSS before the steps.

    python -m scripts.benchmarks.training_memory --batch-size 4 --batch-size 16 --batch-size 64

Prints a table and one JSON line. CPU only (GPU memory is `torch.cuda.max_memory_allocated`).
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Dict, List, Optional

import typer

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = Path(os.environ.get("DECLUTR_SHARED", HERE.parents[2] / "shared"))

CHILD = """
import json, sys, torch
import scripts.benchmarks.training_throughput as bench
side, model, shared, batch_size, max_length, length_groups = sys.argv[2:8]
batch_size, max_length, length_groups = int(batch_size), int(max_length), int(length_groups)
from pathlib import Path

def rss_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

documents = bench.read_documents(Path(shared), batch_size * 4)
batches = bench.sample_batches(model, documents, batch_size, max_length)[:2]
if side == "ours":
    net = bench.our_model(model, None, length_groups).train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-5)
    def step(batch):
        net(**batch)["loss"].backward()
        optimizer.step(); optimizer.zero_grad(set_to_none=True)
else:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    net = SentenceTransformer(model, device="cpu").train()
    loss = MultipleNegativesRankingLoss(net, scale=20.0)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-5)
    def step(batch):
        features = [bench.st_features(batch["anchors"]), bench.st_features(batch["positives"])]
        loss(features, labels=None).backward()
        optimizer.step(); optimizer.zero_grad(set_to_none=True)
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")
before = rss_kib("VmRSS:")
for batch in batches:
    step(batch)
peak = rss_kib("VmHWM:")
print(json.dumps({"peak_rss_mib": peak / 1024, "step_mib": (peak - before) / 1024}))
"""


def measure(side: str, model: str, shared: Path, batch_size: int, max_length: int, groups: int):
    command = [sys.executable, "-c", CHILD, str(HERE), side, model, str(shared)]
    command += [str(batch_size), str(max_length), str(groups)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parents[1])
    if result.returncode != 0:
        raise RuntimeError(f"{side} at batch {batch_size} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(
    model: Annotated[str, typer.Option()] = str(DEFAULT_SHARED / "models/all-MiniLM-L6-v2"),
    shared: Annotated[Path, typer.Option()] = DEFAULT_SHARED,
    batch_size: Annotated[
        Optional[List[int]], typer.Option(help="Anchor/positive pairs a step (default 4 16 64).")
    ] = None,
    max_length: Annotated[int, typer.Option(help="Tokens per span, special included.")] = 128,
    length_groups: Annotated[int, typer.Option(help="Our model's length_groups.")] = 1,
) -> None:
    rows: List[Dict] = []
    for size in batch_size or [4, 16, 64]:
        ours = measure("ours", model, shared, size, max_length, length_groups)
        theirs = measure("theirs", model, shared, size, max_length, length_groups)
        rows.append({"batch_size": size, "ours": ours, "theirs": theirs})
        print(
            f"batch {size:3d}: declutr peak {ours['peak_rss_mib']:7.1f} MiB "
            f"(+{ours['step_mib']:6.1f} during the steps) | sentence-transformers peak "
            f"{theirs['peak_rss_mib']:7.1f} MiB (+{theirs['step_mib']:6.1f})",
            flush=True,
        )
    print(
        json.dumps(
            {
                "benchmark": "training_memory",
                "model": model,
                "max_length": max_length,
                "length_groups": length_groups,
                "runs": rows,
            }
        )
    )


if __name__ == "__main__":
    typer.run(main)
