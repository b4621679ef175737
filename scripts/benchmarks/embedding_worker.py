"""One embedding path, measured in a process of its own (run by `embedding_throughput.py`).

    python -m scripts.benchmarks.embedding_worker PATH MODEL TEXTS_JSON OUTPUT_NPY [options]

PATH is `declutr:BACKEND:PRECISION` (declutr's `Encoder`) or `st:torch`, `st:onnx`,
`st:onnx-int8`, `st:openvino` (sentence-transformers' backends; this script then imports neither
declutr nor anything but sentence-transformers, so it runs in the peer venv). Loads the model,
embeds the first 256 texts as a warm-up, then all texts `--repeats` times; writes the last pass's
vectors to OUTPUT_NPY and prints one JSON line (`texts_per_s`, the median over passes, and
each pass's; `texts_per_cpu_s`, texts per CPU-second of this process; load seconds).
Uses only the standard library and numpy besides the tool measured.
"""

import argparse
import json
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import numpy as np


def declutr_path(backend: str, precision: str, args: argparse.Namespace) -> Callable:
    from declutr import Encoder

    # Encoder's max_length counts subword tokens without the special ones.
    encoder = Encoder(
        args.model,
        device="cpu",
        max_length=args.max_length - 2,
        backend=backend,
        precision=precision,
    )
    return lambda texts: encoder.encode(texts, batch_size=args.batch_size, show_progress=False)


def int8_vnni_or_avx2() -> str:
    """The dynamic quantization config the CPU runs fastest."""
    flags = Path("/proc/cpuinfo").read_text() if platform.system() == "Linux" else ""
    return "avx512_vnni" if "avx512_vnni" in flags else "avx2"


def st_path(backend: str, args: argparse.Namespace, workdir: Path) -> Callable:
    from sentence_transformers import SentenceTransformer

    model_kwargs = {}
    if backend == "onnx-int8":
        from sentence_transformers import export_dynamic_quantized_onnx_model

        copy = workdir / "model"
        shutil.copytree(args.model, copy)
        config = int8_vnni_or_avx2()
        onnx = SentenceTransformer(str(copy), backend="onnx", device="cpu")
        export_dynamic_quantized_onnx_model(onnx, config, str(copy))
        args.model, backend = str(copy), "onnx"
        model_kwargs = {"file_name": f"onnx/model_qint8_{config}.onnx"}
    model = SentenceTransformer(
        args.model, device="cpu", backend=backend, model_kwargs=model_kwargs or None
    )
    model.max_seq_length = args.max_length
    return lambda texts: model.encode(texts, batch_size=args.batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path")
    parser.add_argument("model")
    parser.add_argument("texts", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128, help="special tokens included")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts: List[str] = json.loads(args.texts.read_text(encoding="utf-8"))
    tool, _, rest = args.path.partition(":")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if tool == "declutr":
            backend, precision = rest.split(":")
            embed = declutr_path(backend, precision, args)
        elif tool == "st":
            embed = st_path(rest, args, Path(tmp))
        else:
            raise SystemExit(f"Unknown path {args.path}: declutr:BACKEND:PRECISION or st:BACKEND.")
        load_s = time.perf_counter() - start
        embed(texts[:256])  # warm-up
        rates, cpu_rates = [], []
        for _ in range(args.repeats):
            start, cpu_start = time.perf_counter(), cpu_seconds()
            vectors = np.asarray(embed(texts), dtype=np.float32)
            rates.append(len(texts) / (time.perf_counter() - start))
            cpu_rates.append(len(texts) / (cpu_seconds() - cpu_start))
    np.save(args.output, vectors)
    result = {"path": args.path, "texts_per_s": statistics.median(rates), "passes": rates}
    result["texts_per_cpu_s"] = statistics.median(cpu_rates)
    print(json.dumps({**result, "load_s": load_s}))


def cpu_seconds() -> float:
    """User and system CPU time of this process, all threads: unlike wall time, it does not
    grow when other processes take the cores (though cache sharing and spinning threads still
    weigh on it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
