"""The GPU check's preflight (`scripts/benchmarks/gpu.py`): what the machine runs (torch, its CUDA
build, the driver, the GPU), whether the model and data are where the run will read them, and
the run's sizes against what the data holds, all before any work, in seconds. Imports torch and
the standard library only (no allennlp, transformers or declutr).

Sizes: `DEFAULTS` are the GPU run's; `--scale` multiplies each scalable size (never below its
`FLOORS` value), so the CPU test runs the same plan, smaller. The default plan is checked against
the data at every scale, so a default that the data cannot hold fails on the CPU too.
"""

import csv
import dataclasses
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import torch

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_VARIABLE = "DECLUTR_SHARED"
DEFAULT_SHARED = Path(os.environ.get(SHARED_VARIABLE, PROJECT_ROOT.parent / "shared"))
MODEL_SUBPATH = "models/all-MiniLM-L6-v2"
CORPUS_SUBPATH = "data/corpus/documents.jsonl"
STS_SUBPATH = "data/senteval/STS/STSBenchmark/sts-train.csv"
PACKAGES = ["torch", "transformers", "sentence-transformers", "allennlp", "numpy"]


class PreflightError(Exception):
    """A reason the run cannot start; the message says what to change."""


@dataclass(frozen=True)
class Sizes:
    """How much work each part of the run does."""

    num_texts: int  # texts embedded by every embedding path
    embed_batch_sizes: tuple  # one figure per batch size and path
    embed_repeats: int  # timed passes per batch size (median), after one warm-up
    train_batch_size: int  # anchor/positive pairs per throughput step
    train_steps: int  # timed throughput steps, after the warm-up steps
    warmup_steps: int
    max_length: int  # tokens per text or span, special tokens included
    real_steps: int  # steps of the short real training (documents = steps * batch size)
    real_batch_size: int  # documents per step (the paper's 4: 8 anchor/positive pairs)
    validation_documents: int  # held out from the real training's corpus

    def texts_needed(self) -> Dict[str, int]:
        """What `embedding_throughput.sample_texts` draws: half STS-B sentences (rounded down),
        half document openings."""
        return {"sentences": self.num_texts // 2, "documents": self.num_texts - self.num_texts // 2}

    def throughput_documents(self) -> int:
        """Documents `training_throughput.read_documents` samples (one pair per document, twice
        the batches needed, as short documents are skipped)."""
        return self.train_batch_size * (self.train_steps + self.warmup_steps) * 2

    def real_documents(self) -> int:
        return self.validation_documents + self.real_steps * self.real_batch_size


DEFAULTS = Sizes(
    num_texts=8192,
    embed_batch_sizes=(32, 256),
    embed_repeats=3,
    train_batch_size=64,
    train_steps=20,
    warmup_steps=3,
    max_length=128,
    real_steps=300,
    real_batch_size=4,
    validation_documents=400,
)
# The smallest value each scaled size takes; sizes absent here do not scale.
FLOORS = {
    "num_texts": 64,
    "embed_repeats": 1,
    "train_batch_size": 4,
    "train_steps": 2,
    "warmup_steps": 1,
    "real_steps": 6,
    "real_batch_size": 2,
    "validation_documents": 32,
}


def scaled_sizes(scale: float, **overrides: Optional[int]) -> Sizes:
    """`DEFAULTS` with each size in `FLOORS` multiplied by `scale` (rounded, at least its floor),
    then any `overrides` that are not None."""
    if not 0 < scale <= 1:
        raise PreflightError(f"--scale must be in (0, 1], got {scale}.")
    changes = {
        name: max(floor, round(getattr(DEFAULTS, name) * scale)) for name, floor in FLOORS.items()
    }
    changes.update({name: value for name, value in overrides.items() if value is not None})
    for name, value in changes.items():
        if value < 1:
            raise PreflightError(f"--{name.replace('_', '-')} must be at least 1, got {value}.")
    return dataclasses.replace(DEFAULTS, **changes)


def data_capacity(shared: Path) -> Dict[str, int]:
    """How many STS-B training sentences and corpus documents there are to draw from."""
    with open(shared / STS_SUBPATH, encoding="utf-8") as handle:
        rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        sentences = sum(1 for row in rows if len(row) > 6)  # sample_texts' rule
    with open(shared / CORPUS_SUBPATH, encoding="utf-8") as handle:
        documents = sum(1 for line in handle if line.strip())
    return {"sentences": sentences, "documents": documents}


def check_sizes(sizes: Sizes, capacity: Dict[str, int], label: str) -> None:
    """PreflightError naming the size and the limit if `sizes` asks for more than the data
    holds."""
    sentences, documents = capacity["sentences"], capacity["documents"]
    needed = sizes.texts_needed()
    most_texts = min(2 * sentences + 1, 2 * documents)
    if needed["sentences"] > sentences or needed["documents"] > documents:
        raise PreflightError(
            f"{label}: --num-texts {sizes.num_texts} needs {needed['sentences']} STS-B sentences "
            f"and {needed['documents']} documents; the data holds {sentences} and {documents}, "
            f"so at most {most_texts} texts."
        )
    if sizes.throughput_documents() > documents:
        raise PreflightError(
            f"{label}: the training throughput (--train-batch-size {sizes.train_batch_size} x "
            f"({sizes.train_steps} + {sizes.warmup_steps} warm-up) steps x 2) needs "
            f"{sizes.throughput_documents()} documents; the corpus holds {documents}."
        )
    if sizes.real_documents() > documents:
        raise PreflightError(
            f"{label}: the real training needs {sizes.real_documents()} documents "
            f"(--validation-documents {sizes.validation_documents} + --real-steps "
            f"{sizes.real_steps} x {sizes.real_batch_size}); the corpus holds {documents}."
        )


def check_inputs(model: Path, shared: Path, config: Path) -> None:
    """PreflightError naming the missing path and the option or variable that sets it."""
    if not (model / "config.json").is_file():
        raise PreflightError(
            f"No model at {model} (no config.json there): pass --model PATH, or set "
            f"{SHARED_VARIABLE} to the folder holding {MODEL_SUBPATH}."
        )
    for name, subpath in (("corpus", CORPUS_SUBPATH), ("STS-B training file", STS_SUBPATH)):
        if not (shared / subpath).is_file():
            raise PreflightError(
                f"No {name} at {shared / subpath}: pass --shared PATH, or set {SHARED_VARIABLE} "
                f"to the folder holding {subpath}."
            )
    if not config.is_file():
        raise PreflightError(f"No training config at {config}: pass --config PATH.")


def environment(device: str) -> Dict:
    """What the run runs on: Python, packages, torch's CUDA build, driver and GPU."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    report = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
        "torch_version": torch.__version__,
        "torch_cuda_build": torch.version.cuda or "CPU-only",
        "cuda_available": torch.cuda.is_available(),
        "requested_device": device,
        "nvidia_smi": nvidia_smi(),
    }
    if torch.cuda.is_available():
        report["cuda_driver_api_version"] = torch._C._cuda_getDriverVersion()
        report["gpus"] = [gpu_properties(index) for index in range(torch.cuda.device_count())]
        report["bf16_supported"] = torch.cuda.is_bf16_supported()
    return report


def gpu_properties(index: int) -> Dict:
    properties = torch.cuda.get_device_properties(index)
    return {
        "name": properties.name,
        "capability": f"{properties.major}.{properties.minor}",
        "memory_gib": round(properties.total_memory / 2**30, 1),
    }


def nvidia_smi() -> List[str]:
    """nvidia-smi's name, driver and memory per GPU, or why there is none."""
    if shutil.which("nvidia-smi") is None:
        return ["nvidia-smi not found"]
    query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return [f"nvidia-smi failed: {error}"]
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines or [f"nvidia-smi exited {done.returncode} with no output"]


def check_device(device: str, report: Dict) -> None:
    """PreflightError unless the requested device is usable."""
    if not device.startswith("cuda"):
        if device != "cpu":
            raise PreflightError(f"--device must be cuda, cuda:N or cpu, got {device!r}.")
        return
    if not report["cuda_available"]:
        build = report["torch_cuda_build"]
        raise PreflightError(
            f"CUDA is not available to torch {report['packages']['torch']} (CUDA build: "
            f"{build}; nvidia-smi: {'; '.join(report['nvidia_smi'])}). "
            + (
                "This torch is a CPU-only build: install a CUDA build (docs/install.md, GPU and "
                "CUDA). "
                if build == "CPU-only"
                else f"The driver must support CUDA {build} (docs/install.md, GPU and CUDA). "
            )
            + "To check the script on the CPU instead: --device cpu --scale 0.01."
        )
    index = torch.device(device).index or 0
    if index >= torch.cuda.device_count():
        raise PreflightError(f"--device {device}: only {torch.cuda.device_count()} GPU(s) visible.")


def summary_lines(report: Dict) -> List[str]:
    """The environment in a few readable lines."""
    packages = ", ".join(f"{name} {version}" for name, version in report["packages"].items())
    lines = [
        f"python {report['python']} on {report['platform']} ({report['cpu_count']} CPUs)",
        f"packages: {packages}",
        f"torch {report['torch_version']}, CUDA build: {report['torch_cuda_build']}; GPU visible: "
        + ("yes" if report["cuda_available"] else "no"),
        "nvidia-smi: " + "; ".join(report["nvidia_smi"]),
    ]
    if report["cuda_available"]:
        api = report["cuda_driver_api_version"]
        lines.append(f"driver supports CUDA up to {api // 1000}.{api % 1000 // 10}")
        lines += [f"GPU {i}: {json.dumps(gpu)}" for i, gpu in enumerate(report["gpus"])]
    return lines
