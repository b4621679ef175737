"""GPU figures in one prepared run: training tokens/s with automatic mixed precision (declutr's
step against sentence-transformers' MultipleNegativesRankingLoss step on the same batches, as
`training_throughput.py` does on the CPU), then embedding texts/s for every precision and backend
of `Encoder` that applies to the device, and sentence-transformers' encode in float32 and
float16. Writes one JSON line per figure (stdout, and `--output` if given).

    python -m scripts.benchmarks.gpu --output scripts/benchmarks/results/gpu.jsonl  # on a GPU
    python -m scripts.benchmarks.gpu --device cpu --smoke                    # checks the script

`--smoke` shrinks everything (a few steps and texts, one repeat) so that the script can be
checked on any machine in a minute; its figures mean nothing.
"""

import json
import os
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
import typer

from scripts.benchmarks.embedding_throughput import sample_texts
from scripts.benchmarks.training_throughput import (
    count_tokens,
    our_model,
    read_documents,
    sample_batches,
    st_features,
)

HERE = Path(__file__).resolve().parent
DEFAULT_SHARED = Path(os.environ.get("DECLUTR_SHARED", HERE.parents[2] / "shared"))


def emit(record: Dict, output: Optional[Path]) -> None:
    line = json.dumps(record)
    print(line, flush=True)
    if output is not None:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(run: Callable[[], None], device: torch.device, repeats: int) -> float:
    """Median seconds of `repeats` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        run()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def amp_dtype(device: torch.device) -> torch.dtype:
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


def training_steps(model: str, batches: List[Dict], device: torch.device) -> Dict[str, Callable]:
    """One AMP training step per tool (forward, backward, AdamW) over all `batches`."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    dtype = amp_dtype(device)
    ours = our_model(model, None, length_groups=2).to(device).train()
    theirs = SentenceTransformer(model, device=str(device)).train()
    mnrl = MultipleNegativesRankingLoss(theirs, scale=20.0)  # scale = 1 / temperature 0.05

    def loop(module: torch.nn.Module, loss_of: Callable) -> Callable:
        optimizer = torch.optim.AdamW(module.parameters(), lr=1e-5)
        scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)

        def run() -> None:
            for batch in batches:
                with torch.autocast(device.type, dtype=dtype):
                    loss = loss_of(batch)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)

        return run

    def our_loss(batch: Dict) -> torch.Tensor:
        return ours(**_to(batch, device))["loss"]

    def their_loss(batch: Dict) -> torch.Tensor:
        features = [_to(st_features(batch[key]), device) for key in ("anchors", "positives")]
        return mnrl(features, labels=None)

    return {"declutr": loop(ours, our_loss), "sentence-transformers": loop(theirs, their_loss)}


def _to(value, device: torch.device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {key: _to(item, device) for key, item in value.items()}
    return value


def embedding_paths(model: str, device: torch.device, max_length: int) -> Dict[str, Callable]:
    """`Encoder` for each backend and precision the device supports, and sentence-transformers
    in float32 and float16 (GPU) or float32 (CPU): name -> encode(texts, batch_size)."""
    from sentence_transformers import SentenceTransformer

    from declutr import Encoder

    combos = [("torch", "float32"), ("torch", "bfloat16")]
    if device.type == "cuda":
        combos.append(("torch", "float16"))
        if not torch.cuda.is_bf16_supported():
            combos.remove(("torch", "bfloat16"))
    else:
        combos += [("onnx", "float32"), ("openvino", "float32"), ("openvino", "bfloat16")]
    paths = {}
    for backend, precision in combos:
        encoder = Encoder(
            model, device=device, max_length=max_length - 2, backend=backend, precision=precision
        )
        paths[f"declutr:{backend}:{precision}"] = lambda texts, size, encoder=encoder: (
            encoder.encode(texts, batch_size=size, show_progress=False)
        )
    for half in [False, True] if device.type == "cuda" else [False]:
        st = SentenceTransformer(model, device=str(device))
        st.max_seq_length = max_length
        if half:
            st.half()
        name = f"st:torch:{'float16' if half else 'float32'}"
        paths[name] = lambda texts, size, st=st: st.encode(texts, batch_size=size)
    return paths


def main(
    model: str = typer.Option(str(DEFAULT_SHARED / "models/all-MiniLM-L6-v2")),
    shared: Path = typer.Option(DEFAULT_SHARED),
    device: str = typer.Option("cuda"),
    train_batch_size: int = typer.Option(64, help="Anchor/positive pairs per step."),
    steps: int = typer.Option(10),
    num_texts: int = typer.Option(20000),
    batch_sizes: List[int] = typer.Option([32, 256]),
    max_length: int = typer.Option(128, help="Tokens per text or span, special ones included."),
    repeats: int = typer.Option(3),
    smoke: bool = typer.Option(False, help="Tiny sizes: checks that the script runs."),
    output: Optional[Path] = typer.Option(None, help="Append the JSON lines here too."),
) -> None:
    target = torch.device(device)
    if smoke:
        train_batch_size, steps, num_texts, batch_sizes, repeats = 4, 2, 64, [16], 1
    torch.manual_seed(0)
    common = {"device": str(target), "model": model, "smoke": smoke}
    if target.type == "cuda":
        common["gpu"] = torch.cuda.get_device_name(target)
    documents = read_documents(shared, train_batch_size * steps * 2)
    batches = sample_batches(model, documents, train_batch_size, max_length)[:steps]
    tokens = sum(count_tokens(batch) for batch in batches)
    for tool, run in training_steps(model, batches, target).items():
        seconds = timed(run, target, repeats)
        emit(
            {
                **common,
                "figure": "training_tokens_per_s",
                "tool": tool,
                "amp_dtype": str(amp_dtype(target)).replace("torch.", ""),
                "batch_size": train_batch_size,
                "steps": len(batches),
                "value": tokens / seconds,
            },
            output,
        )
    texts = sample_texts(shared, num_texts)
    for name, encode in embedding_paths(model, target, max_length).items():
        for size in batch_sizes:
            seconds = timed(lambda e=encode, s=size: e(texts, s), target, repeats)
            emit(
                {
                    **common,
                    "figure": "embedding_texts_per_s",
                    "path": name,
                    "batch_size": size,
                    "value": num_texts / seconds,
                },
                output,
            )


if __name__ == "__main__":
    typer.run(main)
