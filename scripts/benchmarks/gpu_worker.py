"""One measurement of the GPU check (`scripts/benchmarks/gpu.py`), in a process of its own so that
no path inherits another's memory, caches or compiled kernels:

    python -m scripts.benchmarks.gpu_worker SPEC_JSON RESULT_JSON

SPEC_JSON holds `task` and its settings; the result is written to RESULT_JSON.

- `embed`: `tool` ("declutr": `Encoder`; "sentence-transformers": `SentenceTransformer.encode`)
  at `precision` float32, bfloat16 or float16, both under `torch.autocast` for the half
  precisions (weights stay float32 in both tools). Texts/s per batch size (one warm-up pass,
  then the median of `repeats` passes); the last pass's vectors go to `vectors` (.npy).
- `train_step`: training tokens/s and peak memory of one tool's step (forward, backward, AdamW)
  under autocast at `precision` (a gradient scaler for float16): declutr's model with the nt_xent
  loss against sentence-transformers' MultipleNegativesRankingLoss (the same objective), on the
  same span batches (`training_throughput.py`'s helpers).
- `train_real`: a short allennlp training of a paper config through overrides, on held-out
  documents scored before and after (`declutr.evaluation.before_after`).

Peak memory: `torch.cuda.max_memory_allocated` on a GPU; on the CPU the process's peak resident
set (`ru_maxrss`, imports included).
"""

import copy
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> Dict:
    if device.type == "cuda":
        measure, value = "cuda_max_memory_allocated", torch.cuda.max_memory_allocated(device)
    else:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        measure, value = "process_max_rss", kib * 1024
    return {"peak_memory_mib": value / 2**20, "peak_memory_measure": measure}


def encoder(spec: Dict, device: torch.device) -> Callable[[List[str], int], np.ndarray]:
    """encode(texts, batch_size) -> float32 vectors, for the spec's tool and precision."""
    if spec["tool"] == "declutr":
        from declutr import Encoder

        # Encoder's max_length counts subword tokens without the special ones.
        model = Encoder(
            spec["model"],
            device=device,
            max_length=spec["max_length"] - 2,
            precision=spec["precision"],
            backend="torch",
        )
        return lambda texts, size: model.encode(texts, batch_size=size, show_progress=False)
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(spec["model"], device=str(device))
    st.max_seq_length = spec["max_length"]
    dtype = DTYPES[spec["precision"]]

    def encode(texts: List[str], size: int) -> np.ndarray:
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            vectors = st.encode(texts, batch_size=size, convert_to_tensor=True)
        return vectors.float().cpu().numpy()

    return encode


def embed(spec: Dict, device: torch.device) -> Dict:
    texts: List[str] = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    encode = encoder(spec, device)
    reset_peak_memory(device)
    rates: Dict[str, float] = {}
    for size in spec["batch_sizes"]:
        encode(texts, size)  # warm-up
        passes = []
        for _ in range(spec["repeats"]):
            synchronize(device)
            start = time.perf_counter()
            vectors = encode(texts, size)
            synchronize(device)
            passes.append(len(texts) / (time.perf_counter() - start))
        rates[str(size)] = statistics.median(passes)
    np.save(spec["vectors"], vectors)
    return {"texts_per_s": rates, "num_texts": len(texts), **peak_memory(device)}


def train_step(spec: Dict, device: torch.device) -> Dict:
    import declutr
    from scripts.benchmarks.training_throughput import (
        count_tokens,
        read_documents,
        sample_batches,
    )

    declutr.register()  # the compatibility patches (transformers' tokenizers) and components
    steps, warmup = spec["steps"], spec["warmup_steps"]
    documents = read_documents(Path(spec["shared"]), spec["num_documents"])
    batches = sample_batches(spec["model"], documents, spec["batch_size"], spec["max_length"])
    if len(batches) < warmup + steps:
        raise RuntimeError(f"{len(batches)} batches from the documents, {warmup + steps} needed.")
    torch.manual_seed(0)
    module, loss_of = training_module(spec, device)
    dtype = DTYPES[spec["precision"]]
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-5)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    losses = []

    def step(batch: Dict) -> None:
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = loss_of(to_device(batch, device))
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))

    reset_peak_memory(device)
    for batch in batches[:warmup]:
        step(batch)
    timed = batches[warmup : warmup + steps]
    synchronize(device)
    start = time.perf_counter()
    for batch in timed:
        step(batch)
    synchronize(device)
    seconds = time.perf_counter() - start
    tokens = sum(count_tokens(batch) for batch in timed)
    if not all(np.isfinite(losses)):
        raise RuntimeError(f"Non-finite training loss: {losses}")
    result = {"tokens_per_s": tokens / seconds, "tokens": tokens, "steps": len(timed)}
    return {**result, "first_loss": losses[0], "last_loss": losses[-1], **peak_memory(device)}


def training_module(spec: Dict, device: torch.device):
    """(module in train mode on `device`, loss_of(batch)) for the spec's tool."""
    from scripts.benchmarks.training_throughput import our_model, st_features

    if spec["tool"] == "declutr":
        ours = our_model(spec["model"], None, length_groups=2).to(device).train()
        return ours, lambda batch: ours(**batch)["loss"]
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    theirs = SentenceTransformer(spec["model"], device=str(device)).train()
    mnrl = MultipleNegativesRankingLoss(theirs, scale=20.0)  # scale = 1 / temperature 0.05

    def loss_of(batch: Dict) -> torch.Tensor:
        features = [st_features(batch[key]) for key in ("anchors", "positives")]
        return mnrl([to_device(f, device) for f in features], labels=None)

    return theirs, loss_of


def to_device(value, device: torch.device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {key: to_device(item, device) for key, item in value.items()}
    return value


def split_corpus(spec: Dict, work: Path) -> Dict[str, Path]:
    """Held-out validation documents (with their source as category) and the training
    documents, seeded, as JSON lines in `work`."""
    corpus = Path(spec["shared"]) / "data/corpus/documents.jsonl"
    with open(corpus, encoding="utf-8") as handle:
        documents = [json.loads(line) for line in handle if line.strip()]
    random.Random(spec["seed"]).shuffle(documents)
    held_out = spec["validation_documents"]
    parts = {
        "validation": documents[:held_out],
        "train": documents[held_out : held_out + spec["steps"] * spec["batch_size"]],
    }
    paths = {}
    for name, rows in parts.items():
        paths[name] = work / f"{name}.jsonl"
        with open(paths[name], "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({"text": row["text"], "category": row["source"]}) + "\n")
    return paths


def cuda_index(device: torch.device) -> int:
    """allennlp's device number: the GPU's index, or -1 for the CPU."""
    return (device.index or 0) if device.type == "cuda" else -1


def real_overrides(spec: Dict, paths: Dict[str, Path], device: torch.device) -> Dict:
    """The paper config adapted to the spec's model, corpus, span lengths and device."""
    embedder = "model.text_field_embedder.token_embedders.tokens"
    return {
        "train_data_path": str(paths["train"]),
        "validation_data_path": str(paths["validation"]),
        "dataset_reader.tokenizer.model_name": spec["model"],
        f"{embedder}.model_name": spec["model"],
        "dataset_reader.min_span_len": spec["min_span_len"],
        "dataset_reader.max_span_len": spec["max_span_len"],
        "dataset_reader.max_length": spec["max_span_len"],
        "data_loader.batch_size": spec["batch_size"],
        "trainer.num_epochs": 1,
        "trainer.cuda_device": cuda_index(device),
        "trainer.use_amp": device.type == "cuda",  # allennlp's AMP: float16 with a scaler
        "random_seed": spec["seed"],
        "numpy_seed": spec["seed"],
        "pytorch_seed": spec["seed"],
    }


def validation_reader(config: str, overrides: Dict) -> Tuple[Dict, Any]:
    """The training reader's settings with positives beside their anchors only ("adjacent"):
    they share no token with their anchor, so retrieval starts well below its ceiling and a rise
    is learnt, not read off shared words (as tests/models/test_learning.py validates)."""
    from allennlp.common import Params
    from allennlp.data import DatasetReader

    settings = Params.from_file(config, json.dumps(overrides))["dataset_reader"].as_dict()
    settings["sampling_strategy"] = "adjacent"
    return settings, DatasetReader.from_params(Params(copy.deepcopy(settings)))  # it pops keys


def train_real(spec: Dict, device: torch.device) -> Dict:
    from allennlp.commands.train import train_model_from_file
    from allennlp.models.archival import load_archive

    import declutr
    from declutr.evaluation.before_after import score, untrained_model

    declutr.register()
    work = Path(spec["work_dir"])
    paths = split_corpus(spec, work)
    overrides = real_overrides(spec, paths, device)
    settings, validation = validation_reader(spec["config"], overrides)
    overrides["validation_dataset_reader"] = settings
    model, _ = untrained_model(spec["config"], overrides)
    before = score(model.to(device), validation, paths["validation"])
    del model
    start = time.perf_counter()
    train_model_from_file(
        spec["config"], str(work / "model"), overrides=json.dumps(overrides), force=True
    )
    train_s = time.perf_counter() - start
    archive = load_archive(str(work / "model" / "model.tar.gz"), cuda_device=cuda_index(device))
    after = score(archive.model, validation, paths["validation"])
    metrics = json.loads((work / "model" / "metrics.json").read_text(encoding="utf-8"))
    return {
        "config": spec["config"],
        "overrides": overrides,
        "train_s": train_s,
        "metrics": {k: v for k, v in metrics.items() if isinstance(v, (int, float))},
        "before": before.__dict__,
        "after": after.__dict__,
        **peak_memory(device),
    }


TASKS = {"embed": embed, "train_step": train_step, "train_real": train_real}


def main(argv: Optional[List[str]] = None) -> None:
    spec_path, result_path = (argv or sys.argv[1:])[:2]
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    device = torch.device(spec["device"])
    torch.manual_seed(0)
    start = time.perf_counter()
    result = TASKS[spec["task"]](spec, device)
    result["wall_s"] = time.perf_counter() - start
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
