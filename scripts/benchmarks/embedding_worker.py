"""One embedding path, measured in a process of its own (run by `embedding_throughput.py`).

    python -m scripts.benchmarks.embedding_worker PATH MODEL TEXTS_JSON OUTPUT_NPY [options]

PATH is `declutr:BACKEND:PRECISION` (declutr's `Encoder`; `declutr:auto:auto` is its default,
`declutr:openvino:int8` quantizes on `--calibration` first) or one of sentence-transformers'
CPU backends: `st:torch`, `st:onnx`, `st:onnx-O1` to `st:onnx-O3` (its optimized ONNX graphs),
`st:onnx-int8` (dynamic int8), `st:openvino`, `st:openvino-int8` (static int8, NNCF, calibrated
on `--calibration`); this script then imports neither declutr nor anything but
sentence-transformers, so it runs in the peer venv. Loads the model (making its file first where
the path needs one), embeds the first 256 texts as a warm-up, then all texts `--repeats` times;
writes the last pass's vectors to OUTPUT_NPY (and with `--quality`, those texts' vectors to
OUTPUT_NPY with `.quality.npy`) and prints one JSON line (`texts_per_s`, the median over passes,
and each pass's; `texts_per_cpu_s`, texts per CPU-second of this process; load seconds; the
threads; for declutr, the runtime it ran). Every library runs on `--threads` threads.
Uses only the standard library and numpy besides the tool measured.
"""

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import numpy as np


def declutr_path(backend: str, precision: str, args: argparse.Namespace, workdir: Path):
    import torch

    from declutr import Encoder

    torch.set_num_threads(args.threads)
    model = args.model
    if precision == "int8":
        from declutr.inference.quantize import save_int8

        model = str(workdir / "export")
        encoder = Encoder(args.model, device="cpu", backend="torch", precision="float32")
        encoder.save_pretrained(model)
        save_int8(encoder, model, json.loads(args.calibration.read_text(encoding="utf-8")))
    # Encoder's max_length counts subword tokens without the special ones.
    encoder = Encoder(
        model, device="cpu", max_length=args.max_length - 2, backend=backend, precision=precision
    )
    args.runtime = encoder.runtime_choice.as_dict()
    args.quality_encode = lambda texts: encoder.encode(
        texts, batch_size=args.batch_size, show_progress=False
    )
    return lambda texts: encoder.encode(texts, batch_size=args.batch_size, show_progress=False)


def int8_vnni_or_avx2() -> str:
    """The dynamic quantization config the CPU runs fastest."""
    flags = Path("/proc/cpuinfo").read_text() if platform.system() == "Linux" else ""
    return "avx512_vnni" if "avx512_vnni" in flags else "avx2"


def st_path(backend: str, args: argparse.Namespace, workdir: Path) -> Callable:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    model_kwargs: dict = {}
    if backend.startswith("onnx"):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = args.threads
        model_kwargs["session_options"] = options
    if backend.startswith("openvino"):
        model_kwargs["ov_config"] = {"INFERENCE_NUM_THREADS": args.threads}
    if backend == "openvino-saved8":  # an int8 file already in the model (declutr's export)
        model_kwargs["file_name"] = "openvino/openvino_model_qint8_quantized.xml"
        backend = "openvino"
    if backend != "torch" and "-" in backend:
        copy = workdir / "model"
        shutil.copytree(args.model, copy)
        args.model, file_name = str(copy), st_export(backend, copy, args, model_kwargs)
        model_kwargs["file_name"] = file_name
        backend = backend.split("-")[0]
    model = SentenceTransformer(
        args.model, device="cpu", backend=backend, model_kwargs=model_kwargs or None
    )
    model.max_seq_length = args.max_length
    args.quality_encode = lambda texts: model.encode(texts, batch_size=args.batch_size)
    return lambda texts: model.encode(texts, batch_size=args.batch_size)


def st_export(backend: str, copy: Path, args: argparse.Namespace, model_kwargs: dict) -> str:
    """Write sentence-transformers' file for `backend` into `copy`, with its own export
    function, and return the file name to load."""
    import sentence_transformers as st

    kind, variant = backend.split("-")
    base = st.SentenceTransformer(str(copy), backend=kind, device="cpu", model_kwargs=model_kwargs)
    if kind == "onnx" and variant == "int8":
        config = int8_vnni_or_avx2()
        st.export_dynamic_quantized_onnx_model(base, config, str(copy))
        return f"onnx/model_qint8_{config}.onnx"
    if kind == "onnx":  # O1 .. O3
        st.export_optimized_onnx_model(base, variant, str(copy))
        return f"onnx/model_{variant}.onnx"
    from optimum.intel import OVQuantizationConfig

    # The calibration texts as a local dataset: a folder with one CSV file (no download).
    folder = copy.parent / "calibration"
    folder.mkdir()
    texts = json.loads(args.calibration.read_text(encoding="utf-8"))
    with open(folder / "train.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text"])
        writer.writerows([text] for text in texts)
    st.export_static_quantized_openvino_model(
        base,
        OVQuantizationConfig(num_samples=len(texts)),
        str(copy),
        dataset_name=str(folder),
        dataset_config_name="default",  # a local folder's only configuration
        dataset_split="train",
        column_name="text",
    )
    return "openvino/openvino_model_qint8_quantized.xml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path")
    parser.add_argument("model")
    parser.add_argument("texts", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128, help="special tokens included")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--calibration", type=Path, help="JSON list of texts (int8 paths)")
    parser.add_argument("--quality", type=Path, help="JSON list of texts to embed once more")
    args = parser.parse_args()
    args.runtime = None
    texts: List[str] = json.loads(args.texts.read_text(encoding="utf-8"))
    tool, _, rest = args.path.partition(":")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if tool == "declutr":
            backend, precision = rest.split(":")
            embed = declutr_path(backend, precision, args, Path(tmp))
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
        if args.quality:
            quality = json.loads(args.quality.read_text(encoding="utf-8"))
            quality_vectors = np.asarray(args.quality_encode(quality), dtype=np.float32)
            np.save(args.output.with_suffix(".quality.npy"), quality_vectors)
    np.save(args.output, vectors)
    result = {"path": args.path, "texts_per_s": statistics.median(rates), "passes": rates}
    result["texts_per_cpu_s"] = statistics.median(cpu_rates)
    result.update(threads=args.threads, runtime=args.runtime)
    print(json.dumps({**result, "load_s": load_s}))


def cpu_seconds() -> float:
    """User and system CPU time of this process, all threads: unlike wall time, it does not
    grow when other processes take the cores (though cache sharing and spinning threads still
    weigh on it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
