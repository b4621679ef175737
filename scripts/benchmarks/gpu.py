"""The GPU check: one prepared run for a briefly lent GPU (H100/H200), which must work the first
time. `make gpu-check` runs it after `make install`; on a machine already set up:

    python -m scripts.benchmarks.gpu                                   # the GPU run
    python -m scripts.benchmarks.gpu --preflight-only                  # the checks alone, seconds
    python -m scripts.benchmarks.gpu --device cpu --scale 0.01         # every path, on the CPU

1. Preflight, in seconds, before any work (`gpu_preflight.py`): prints Python, the packages, torch's
   CUDA build, nvidia-smi's driver and the GPU; fails with a message naming what to change when
   CUDA is not available, the model or data is missing (`--model`, `--shared`, $DECLUTR_SHARED),
   or a size asks for more texts or documents than the data holds (the default sizes are checked
   too, at any `--scale`).
2. Embedding texts/s, declutr's `Encoder` against sentence-transformers' `encode`, each in
   float32, bfloat16 and float16 with the same scheme (float32 weights, `torch.autocast`), each
   path in a process of its own (`gpu_worker.py`); the smallest cosine of each half-precision
   path's vectors against its tool's float32 vectors (and sentence-transformers' float32 against
   declutr's) is recorded and must reach `--min-cosine`.
3. Training tokens/s and peak memory with autocast in bfloat16 and float16 (with a gradient
   scaler): declutr's model (nt_xent) against sentence-transformers' MultipleNegativesRankingLoss
   on the same model, span batches and lengths, each in a process of its own.
4. A short real training: `--config` (the paper's DeCLUTR-small) through allennlp with overrides
   for the model, the shared corpus and 32-128-token spans, `--real-steps` steps, with held-out
   documents scored before and after; validation retrieval accuracy must rise.

Paths a device cannot run are recorded as skipped with the reason (float16 on the CPU, bfloat16 on
GPUs without it); any failed path or check makes the exit status 1 (preflight failures: 2), after
the others have run. Writes `OUTPUT_DIR/gpu_check_<cuda|cpu>.json` (rewritten after every step)
and `.log` (this output and every worker's).

`--scale` multiplies the default sizes (`gpu_preflight.DEFAULTS`, down to `FLOORS`): the CPU test
(`tests/benchmarks/test_gpu_script.py`) runs this same code at `--scale 0.01`; its figures mean
nothing.
"""

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
import typer

from scripts.benchmarks.gpu_preflight import (
    DEFAULT_SHARED,
    DEFAULTS,
    MODEL_SUBPATH,
    PROJECT_ROOT,
    PreflightError,
    Sizes,
    check_device,
    check_inputs,
    check_sizes,
    data_capacity,
    environment,
    scaled_sizes,
    summary_lines,
)

TOOLS = ("declutr", "sentence-transformers")
PRECISIONS = ("float32", "bfloat16", "float16")
DEFAULT_CONFIG = PROJECT_ROOT / "training_config" / "declutr_small.jsonnet"


class Log:
    """Prints and appends to the log file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("", encoding="utf-8")

    def __call__(self, message: str = "") -> None:
        print(message, flush=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(message + "\n")

    def append(self, text: str) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")


def skip_reason(device: torch.device, precision: str) -> Optional[str]:
    """Why `device` cannot run `precision` (None if it can)."""
    if device.type == "cpu" and precision == "float16":
        return (
            "float16 autocast on the CPU is emulated and slower than float32 (declutr's Encoder "
            "refuses it there); a GPU path, measured on the GPU run"
        )
    if device.type == "cuda" and precision == "bfloat16" and not torch.cuda.is_bf16_supported():
        return f"{torch.cuda.get_device_name(device)} does not support bfloat16"
    return None


def plan(args: Dict, sizes: Sizes, device: torch.device, work: Path) -> List[Dict]:
    """Every measurement, in order: embedding paths, training steps, the real training."""
    common = {"device": str(device), "model": args["model"], "max_length": sizes.max_length}
    jobs = []
    for precision in PRECISIONS:
        for tool in TOOLS:
            name = f"embed:{tool}:{precision}"
            spec = {"task": "embed", "tool": tool, "precision": precision, **common}
            spec.update(texts=str(work / "texts.json"), vectors=str(work / f"{name}.npy"))
            spec.update(batch_sizes=list(sizes.embed_batch_sizes), repeats=sizes.embed_repeats)
            jobs.append({"name": name, "spec": spec, "skip": skip_reason(device, precision)})
    for precision in PRECISIONS[1:]:
        for tool in TOOLS:
            spec = {"task": "train_step", "tool": tool, "precision": precision, **common}
            spec.update(shared=str(args["shared"]), batch_size=sizes.train_batch_size)
            spec.update(steps=sizes.train_steps, warmup_steps=sizes.warmup_steps)
            spec.update(num_documents=sizes.throughput_documents())
            name = f"train_step:{tool}:{precision}"
            jobs.append({"name": name, "spec": spec, "skip": skip_reason(device, precision)})
    real = {"task": "train_real", **common, "config": str(args["config"]), "seed": 13}
    real.update(shared=str(args["shared"]), work_dir=str(work / "real"))
    real.update(steps=sizes.real_steps, batch_size=sizes.real_batch_size)
    real.update(validation_documents=sizes.validation_documents)
    real.update(min_span_len=32, max_span_len=sizes.max_length - 2)
    jobs.append({"name": "train_real", "spec": real, "skip": None})
    return jobs


def run_job(job: Dict, work: Path, log: Log, timeout: float) -> Dict:
    """Run one job's worker process; its result, or `status` "failed" with the error."""
    record = {"name": job["name"], **{k: v for k, v in job["spec"].items() if k in ("tool",)}}
    record.update({k: job["spec"][k] for k in ("precision",) if k in job["spec"]})
    if job["skip"]:
        log(f"-- {job['name']}: skipped ({job['skip']})")
        return {**record, "status": "skipped", "reason": job["skip"]}
    spec_path, result_path = work / f"{job['name']}.spec.json", work / f"{job['name']}.out.json"
    spec_path.write_text(json.dumps(job["spec"]), encoding="utf-8")
    command = [sys.executable, "-m", "scripts.benchmarks.gpu_worker"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [*command, str(spec_path), str(result_path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=PROJECT_ROOT,
            env=env,
        )
        output, returncode = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        output, returncode = f"{expired.stdout or ''}{expired.stderr or ''}", None
        output = output if isinstance(output, str) else repr(output)
        output += f"\ntimed out after {timeout:.0f} s (--job-timeout)"
    seconds = time.perf_counter() - start
    log.append(f"---- {job['name']} worker output ----\n{output}")
    if returncode != 0 or not result_path.is_file():
        tail = output.strip().splitlines()[-15:]
        log(f"-- {job['name']}: FAILED after {seconds:.0f} s\n" + "\n".join(tail))
        return {**record, "status": "failed", "error": "\n".join(tail), "process_s": seconds}
    result = json.loads(result_path.read_text(encoding="utf-8"))
    log(f"-- {job['name']}: done in {seconds:.0f} s: {brief(result)}")
    return {**record, "status": "measured", "process_s": seconds, **result}


def brief(result: Dict) -> str:
    """The headline numbers of a worker result."""
    if "texts_per_s" in result:
        rates = ", ".join(f"batch {k}: {v:.1f}" for k, v in result["texts_per_s"].items())
        return f"texts/s {rates}; peak {result['peak_memory_mib']:.0f} MiB"
    if "tokens_per_s" in result:
        return f"{result['tokens_per_s']:.0f} tokens/s; peak {result['peak_memory_mib']:.0f} MiB"
    before, after = result["before"]["retrieval_accuracy"], result["after"]["retrieval_accuracy"]
    return f"validation retrieval accuracy {before} -> {after} in {result['train_s']:.0f} s"


def cosines(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    return np.sum(vectors * reference, axis=1) / np.maximum(norms, 1e-12)


def compare_vectors(records: List[Dict], jobs: List[Dict]) -> None:
    """Add `min_cosine_vs_float32` (and the mean) to each measured half-precision embedding
    record (against its own tool's float32) and to sentence-transformers' float32 record
    (against declutr's float32)."""
    vectors = {job["name"]: job["spec"].get("vectors") for job in jobs}
    measured = {r["name"]: r for r in records if r["status"] == "measured"}
    for name, record in measured.items():
        if not name.startswith("embed:"):
            continue
        tool, precision = record["tool"], record["precision"]
        if precision != "float32":
            reference = f"embed:{tool}:float32"
        elif tool != "declutr":
            reference = "embed:declutr:float32"
        else:
            continue
        if reference not in measured:
            record["min_cosine_vs_float32"] = None
            continue
        similarity = cosines(np.load(vectors[name]), np.load(vectors[reference]))
        record["cosine_reference"] = reference
        record["min_cosine_vs_float32"] = float(similarity.min())
        record["mean_cosine_vs_float32"] = float(similarity.mean())


def checks(records: List[Dict], min_cosine: float, full_size: bool = True) -> List[Dict]:
    """Pass/fail of every path that ran, every cosine and the real training's rise. The rise is
    checked at the full sizes only: a scaled-down run's few steps (6 at --scale 0.01) can move
    validation retrieval either way; its figures are recorded, with `checked: false`."""
    results = []
    for record in records:
        if record["status"] == "skipped":
            continue
        results.append({"name": f"{record['name']} ran", "passed": record["status"] == "measured"})
        if "min_cosine_vs_float32" in record:
            value = record["min_cosine_vs_float32"]
            results.append(
                {
                    "name": f"{record['name']} min cosine vs {record.get('cosine_reference')}",
                    "passed": value is not None and value >= min_cosine,
                    "value": value,
                    "threshold": min_cosine,
                }
            )
        if record["name"] == "train_real" and record["status"] == "measured":
            before = record["before"]["retrieval_accuracy"]
            after = record["after"]["retrieval_accuracy"]
            rose = before is not None and after is not None and after > before
            name = "validation retrieval accuracy rises"
            result = {"name": name, "passed": rose or not full_size, "value": [before, after]}
            results.append({**result, "checked": full_size})
    return results


def preflight(args: Dict, sizes: Sizes, log: Log) -> Dict:
    """The environment report; PreflightError if the run cannot start."""
    report = environment(args["device"])
    for line in summary_lines(report):
        log(line)
    check_device(args["device"], report)
    check_inputs(Path(args["model"]), Path(args["shared"]), Path(args["config"]))
    capacity = data_capacity(Path(args["shared"]))
    log(f"data: {capacity['sentences']} STS-B sentences, {capacity['documents']} documents")
    check_sizes(DEFAULTS, capacity, "the default sizes")
    check_sizes(sizes, capacity, f"the sizes at --scale {args['scale']}")
    log(f"sizes: {json.dumps(asdict(sizes))}")
    return {"environment": report, "data_capacity": capacity}


def write_report(report: Dict, path: Path) -> None:
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


def measure(args: Dict, sizes: Sizes, report: Dict, paths: Dict[str, Path], log: Log) -> None:
    """Run every job, rewriting the report after each."""
    from scripts.benchmarks.embedding_throughput import sample_texts

    device = torch.device(args["device"])
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        (work / "real").mkdir()
        texts = sample_texts(Path(args["shared"]), sizes.num_texts)
        (work / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
        jobs = plan(args, sizes, device, work)
        records: List[Dict] = []
        for job in jobs:
            records.append(run_job(job, work, log, args["job_timeout"]))
            report["results"] = records
            write_report(report, paths["json"])
        compare_vectors(records, jobs)
    report["checks"] = checks(records, args["min_cosine"], full_size=args["scale"] >= 1)
    report["passed"] = all(check["passed"] for check in report["checks"])


def main(
    device: str = typer.Option("cuda", help="cuda, cuda:N, or cpu (checks the script)."),
    model: Path = typer.Option(DEFAULT_SHARED / MODEL_SUBPATH, help="Model directory."),
    shared: Path = typer.Option(DEFAULT_SHARED, help="Data folder ($DECLUTR_SHARED)."),
    config: Path = typer.Option(DEFAULT_CONFIG, help="Paper config of the real training."),
    scale: float = typer.Option(1.0, help="Multiplies the default sizes (CPU test: 0.01)."),
    num_texts: Optional[int] = typer.Option(None, help=f"Texts embedded ({DEFAULTS.num_texts})."),
    train_batch_size: Optional[int] = typer.Option(None, help="Pairs per throughput step."),
    real_steps: Optional[int] = typer.Option(None, help="Steps of the real training."),
    min_cosine: float = typer.Option(0.99, help="Least cosine of any vector vs float32."),
    job_timeout: float = typer.Option(420.0, help="Seconds per measurement process."),
    output_dir: Path = typer.Option(PROJECT_ROOT / "scripts/benchmarks/results"),
    preflight_only: bool = typer.Option(False, help="Only the checks and environment."),
) -> None:
    args = {key: value for key, value in locals().items()}
    args.update(model=str(model.resolve()), shared=shared.resolve(), config=config.resolve())
    output_dir.mkdir(parents=True, exist_ok=True)
    kind = "cuda" if device.startswith("cuda") else "cpu"
    paths = {suffix: output_dir / f"gpu_check_{kind}.{suffix}" for suffix in ("json", "log")}
    log = Log(paths["log"])
    start = time.perf_counter()
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    log(f"GPU check, {stamp}: {' '.join(sys.argv)}")
    report: Dict = {"benchmark": "gpu_check", "started": stamp, "command": sys.argv}
    report.update({"device": device, "scale": scale, "min_cosine": min_cosine})
    try:
        sizes = scaled_sizes(
            scale, num_texts=num_texts, train_batch_size=train_batch_size, real_steps=real_steps
        )
        report["sizes"] = asdict(sizes)
        report.update(preflight(args, sizes, log))
    except PreflightError as error:
        log(f"PREFLIGHT FAILED: {error}")
        report.update(preflight_error=str(error), passed=False)
        write_report(report, paths["json"])
        raise typer.Exit(2) from None
    log(f"preflight passed in {time.perf_counter() - start:.1f} s")
    if not preflight_only:
        measure(args, sizes, report, paths, log)
        finish(report, log)
    report["wall_s"] = time.perf_counter() - start
    write_report(report, paths["json"])
    log(f"wrote {paths['json']} and {paths['log']} ({report['wall_s']:.0f} s)")
    if not report.get("passed", True):
        raise typer.Exit(1)


def finish(report: Dict, log: Log) -> None:
    """The summary of checks."""
    for check in report["checks"]:
        value = f" ({check['value']})" if "value" in check else ""
        verdict = "PASS" if check["passed"] else "FAIL"
        verdict = verdict if check.get("checked", True) else "NOT CHECKED at this --scale"
        log(f"{verdict}: {check['name']}{value}")
    skipped = [r["name"] for r in report["results"] if r["status"] == "skipped"]
    log(f"skipped on this device: {', '.join(skipped) or 'none'}")
    log("ALL CHECKS PASSED" if report["passed"] else "SOME CHECKS FAILED")


if __name__ == "__main__":
    typer.run(main)
