"""Training at load: one epoch over files of 10k, 100k and 1M documents, each in a fresh process,
reporting the reader's throughput and the process's peak RSS. Memory must stay flat in N.

    python -m scripts.benchmarks.training_load --shared-dir ../shared --documents 10000 \
        --documents 100000 --documents 1000000

The documents are generated from `../shared/data/corpus/documents.jsonl` by repetition with light
perturbation: windows of `--words` words of the corpus documents, each with a few words dropped and
a few neighbours swapped (seeded), so that no two lines are the same. Each size runs twice in its
own process: the "declutr" reader alone over the file (documents/s and instances/s), then
`allennlp train` for one epoch (training_config/quickstart.jsonnet with a tiny encoder built from
scratch, one anchor and one positive of 8-16 tokens a document, `--batch-size` documents a batch:
the model is kept small so that the data path dominates). Peak RSS is measured from the start of
the pass (after the imports, whose own peak does not depend on N) and for the whole process.
Prints a table and one JSON line.
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Dict, List, Optional

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SHARED = Path(os.environ.get("DECLUTR_SHARED", PROJECT_ROOT.parent / "shared"))

OVERRIDES = """
import os

def reset_peak_rss():
    # Linux: writing 5 to clear_refs resets VmHWM, the peak RSS, to the current RSS.
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")

def peak_rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

def overrides(model, documents, batch_size):
    os.environ["DECLUTR_MODEL"] = model  # the quickstart config's encoder
    return {"train_data_path": documents,
            "dataset_reader.num_anchors": 1, "dataset_reader.num_positives": 1,
            "dataset_reader.max_span_len": 16, "dataset_reader.min_span_len": 8,
            "dataset_reader.max_length": 16, "data_loader.batch_size": batch_size,
            "trainer.checkpointer": {"keep_most_recent_by_count": 1}}
"""

READ = (
    OVERRIDES
    + """
import json, sys, time
import declutr
declutr.register()
from allennlp.common import Params
from allennlp.data import DatasetReader
model, documents, batch_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
params = Params.from_file("training_config/quickstart.jsonnet",
                          json.dumps(overrides(model, documents, batch_size)))
reader = DatasetReader.from_params(params.pop("dataset_reader"))
reset_peak_rss()
start = time.perf_counter()
instances = sum(1 for _ in reader.read(documents))
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "instances": instances, "lines": reader.counts["lines"],
                  "work_peak_rss_mib": peak_rss_mib()}))
"""
)

TRAIN = (
    OVERRIDES
    + """
import json, sys, time
import declutr
declutr.register()
from allennlp.commands.train import train_model_from_file
model, documents, batch_size, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
reset_peak_rss()
start = time.perf_counter()
train_model_from_file("training_config/quickstart.jsonnet", out,
                      overrides=json.dumps(overrides(model, documents, batch_size)))
metrics = json.loads(open(out + "/metrics.json").read())
print(json.dumps({"seconds": time.perf_counter() - start, "work_peak_rss_mib": peak_rss_mib(),
                  "training_duration": metrics.get("training_duration")}))
"""
)


def generate(corpus: Path, path: Path, num_documents: int, words: int, seed: int) -> None:
    """`num_documents` lines: windows of `words` words of the corpus, lightly perturbed."""
    with corpus.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"].split() for line in handle]
    windows = [
        (index, start)
        for index, text in enumerate(texts)
        for start in range(0, len(text) - words + 1, words)
    ]
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for _ in range(num_documents):
            index, start = windows[rng.randrange(len(windows))]
            window = [word for word in texts[index][start : start + words] if rng.random() > 0.05]
            for _ in range(3):
                i = rng.randrange(len(window) - 1)
                window[i], window[i + 1] = window[i + 1], window[i]
            out.write(" ".join(window) + "\n")


def run_child(code: str, *args: str) -> Dict:
    """Run `code` in a fresh Python; its printed JSON plus its own peak RSS (MiB) and wall time."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as errors:
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        child = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=errors,
            env=env,
        )
        _, status, usage = os.wait4(child.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise RuntimeError(f"child failed:\n{errors.read().decode()[-3000:]}")
        output.seek(0)
        result = json.loads(output.read().decode().strip().splitlines()[-1])
    return {**result, "peak_rss_mib": usage.ru_maxrss / 1024, "wall_s": time.perf_counter() - start}


def main(
    shared_dir: Annotated[Path, typer.Option(help="The shared data folder.")] = DEFAULT_SHARED,
    documents: Annotated[
        Optional[List[int]], typer.Option(help="Document counts (default: 10k, 100k, 1M).")
    ] = None,
    words: Annotated[int, typer.Option(help="Words per generated document.")] = 60,
    batch_size: Annotated[int, typer.Option(help="Documents per batch.")] = 64,
    train: Annotated[bool, typer.Option(help="Also train one epoch at each size.")] = True,
    seed: Annotated[int, typer.Option(help="Seeds the generated documents.")] = 0,
) -> None:
    documents = documents or [10_000, 100_000, 1_000_000]
    from declutr.testing.from_scratch import build_encoder_from_scratch

    corpus = shared_dir / "data/corpus/documents.jsonl"
    if not corpus.is_file():
        raise typer.BadParameter(f"{corpus} is missing; point --shared-dir at the shared data.")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fixtures = PROJECT_ROOT / "tests/fixtures/documents.txt"
        model = str(
            build_encoder_from_scratch(
                fixtures.read_text(encoding="utf-8").splitlines(), work / "m"
            )
        )
        for num_documents in sorted(documents):
            path = work / f"{num_documents}.txt"
            generate(corpus, path, num_documents, words, seed)
            size_mb = path.stat().st_size / 1e6
            read = run_child(READ, model, str(path), str(batch_size))
            row = {
                "documents": num_documents,
                "file_mb": round(size_mb, 1),
                "read_documents_per_s": round(read["lines"] / read["seconds"], 1),
                "read_instances": read["instances"],
                "read_peak_rss_mib": round(read["peak_rss_mib"], 1),
                "read_pass_peak_rss_mib": round(read["work_peak_rss_mib"], 1),
            }
            line = (
                f"{num_documents:>9,} docs ({size_mb:6.1f} MB): reader "
                f"{row['read_documents_per_s']:8.1f} docs/s, "
                f"peak {row['read_pass_peak_rss_mib']:7.1f} MiB"
            )
            if train:
                trained = run_child(
                    TRAIN, model, str(path), str(batch_size), str(work / f"out-{num_documents}")
                )
                row["train_documents_per_s"] = round(num_documents / trained["seconds"], 1)
                row["train_seconds"] = round(trained["seconds"], 1)
                row["train_peak_rss_mib"] = round(trained["peak_rss_mib"], 1)
                row["train_pass_peak_rss_mib"] = round(trained["work_peak_rss_mib"], 1)
                line += (
                    f" | train 1 epoch {row['train_seconds']:7.1f} s "
                    f"({row['train_documents_per_s']:7.1f} docs/s), "
                    f"peak {row['train_pass_peak_rss_mib']:7.1f} MiB"
                )
            print(line, flush=True)
            rows.append(row)
            path.unlink()
    print(
        json.dumps(
            {
                "benchmark": "training_load",
                "words": words,
                "batch_size": batch_size,
                "torch_threads": os.environ.get("OMP_NUM_THREADS"),
                "runs": rows,
            }
        )
    )


if __name__ == "__main__":
    typer.run(main)
