"""int8's unquantized arithmetic: OpenVINO's float32 hint (declutr's choice) against its bfloat16
hint, side by side on one int8 model of all-MiniLM-L6-v2 (quantized once, compiled twice):
texts/s over alternating passes, and STS-B test / BBC 1-NN of each.

    python -m scripts.benchmarks.int8_hint
"""

import statistics
import tempfile
import time
from pathlib import Path

import torch

from declutr import Encoder
from declutr.inference import runtimes
from declutr.inference.quantize import save_int8
from scripts.benchmarks.embedding_throughput import (
    DEFAULT_SHARED,
    calibration_texts,
    machine,
    quality_data,
    quality_scores,
    sample_texts,
)


def main(shared: Path = DEFAULT_SHARED, passes: int = 3) -> None:
    torch.set_num_threads(2)
    model = str(shared / "models/all-MiniLM-L6-v2")
    texts, data = sample_texts(shared, 1000), quality_data(shared)
    print(machine(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        base = Encoder(model, device="cpu", backend="torch", precision="float32")
        base.save_pretrained(tmp)
        save_int8(base, tmp, calibration_texts(shared))
        encoders = {}
        for hint in ("f32", "bf16"):
            runtimes._OPENVINO_PRECISIONS["int8"] = hint  # read when the model is compiled
            encoders[hint] = Encoder(tmp, "cpu", max_length=126, backend="openvino",
                                     precision="int8")  # fmt: skip
        runtimes._OPENVINO_PRECISIONS["int8"] = "f32"
        rates = {hint: [] for hint in encoders}
        for encoder in encoders.values():
            encoder.encode(texts[:256], show_progress=False)  # warm-up
        for _ in range(passes):
            for hint, encoder in encoders.items():
                start = time.perf_counter()
                encoder.encode(texts, batch_size=32, show_progress=False)
                rates[hint].append(len(texts) / (time.perf_counter() - start))
        for hint, encoder in encoders.items():
            vectors = encoder.encode(data["texts"], batch_size=32, show_progress=False)
            found = {k: round(v, 2) for k, v in quality_scores(vectors, data).items()}
            print(f"{hint} texts/s median {statistics.median(rates[hint]):.1f} "
                  f"{[round(rate, 1) for rate in rates[hint]]} {found}")  # fmt: skip


if __name__ == "__main__":
    main()
