"""Training throughput: one DeCLUTR training step (forward, backward, AdamW) of our model
against a sentence-transformers step with MultipleNegativesRankingLoss (the same objective:
in-batch negatives, one positive per anchor) on the same anchor/positive token ids, batch size
and maximum length; alternating repeats (A B A B ...) in one process. Reports tokens/s, the
ratio ours/theirs and model FLOPs utilisation against the matmul rate this machine reaches in
the same run. Prints a table and one JSON line.

    python -m scripts.benchmarks.training_throughput --model ../shared/models/all-MiniLM-L6-v2

With --gradient-cache-chunk-size N, ours uses gradient caching (see the model's docstring).
"""

import copy
import json
import random
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch
import typer
from allennlp.common import Params
from allennlp.data import Batch, Vocabulary
from allennlp.models import Model

import declutr
from declutr.data.dataset_readers import DeCLUTRDatasetReader
from scripts.benchmarks.embedding_throughput import machine

declutr.register()  # declutr's components, and the compatibility patches allennlp's classes need

DEFAULT_SHARED = Path(__file__).resolve().parents[3] / "shared"


def read_documents(shared: Path, num_documents: int, seed: int = 0) -> List[str]:
    with open(shared / "data/corpus/documents.jsonl", encoding="utf-8") as handle:
        documents = [json.loads(line)["text"] for line in handle]
    return random.Random(seed).sample(documents, num_documents)


def our_model(model: str, chunk_size: Optional[int], length_groups: int = 1) -> Model:
    embedder = {
        "type": "pretrained_transformer",
        "model_name": model,
        "transformer_kwargs": {"add_pooling_layer": False},
    }
    params = {
        "type": "declutr",
        "text_field_embedder": {"token_embedders": {"tokens": embedder}},
        "loss": {"type": "nt_xent", "temperature": 0.05},
        "masked_language_modeling": False,
        "gradient_cache_chunk_size": chunk_size,
        "length_groups": length_groups,
    }
    return Model.from_params(vocab=Vocabulary.empty(), params=Params(params))


def sample_batches(model: str, documents: List[str], batch_size: int, max_length: int):
    """Batches of `batch_size` (anchor, positive) span pairs, one pair per document."""
    reader = DeCLUTRDatasetReader.from_params(
        Params(
            {
                "tokenizer": {"type": "pretrained_transformer", "model_name": model},
                "num_anchors": 1,
                "num_positives": 1,
                "min_span_len": max_length // 4,
                "max_span_len": max_length - 2,
                "seed": 0,
            }
        )
    )
    instances = []
    for text in documents:
        try:
            instances.append(reader.text_to_instance(text))
        except ValueError:
            continue  # too short
    for instance in instances:
        reader.apply_token_indexers(instance)
    batches = []
    for start in range(0, len(instances) - batch_size + 1, batch_size):
        batch = Batch(copy.deepcopy(instances[start : start + batch_size]))
        batch.index_instances(Vocabulary.empty())
        batches.append(batch.as_tensor_dict())
    return batches


def st_features(tokens: Dict) -> Dict[str, torch.Tensor]:
    indexed = tokens["tokens"]
    token_ids = indexed["token_ids"].flatten(0, 1)
    mask = indexed["mask"].flatten(0, 1).long()
    return {
        "input_ids": token_ids,
        "attention_mask": mask,
        "token_type_ids": torch.zeros_like(mask),
    }


def count_tokens(batch) -> int:
    return int(sum(batch[key]["tokens"]["mask"].sum() for key in ("anchors", "positives")))


def attention_flops(batch, num_layers: int, hidden: int) -> float:
    """Forward + backward attention FLOPs: 12 * layers * seq_len^2 * hidden per padded text."""
    total = 0.0
    for key in ("anchors", "positives"):
        mask = batch[key]["tokens"]["mask"].flatten(0, 1)
        total += mask.size(0) * mask.size(1) ** 2
    return 12.0 * num_layers * hidden * total


def matmul_flops_per_s(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times)


def main(
    model: str = typer.Option(str(DEFAULT_SHARED / "models/all-MiniLM-L6-v2")),
    shared: Path = typer.Option(DEFAULT_SHARED),
    batch_size: int = typer.Option(16),
    max_length: int = typer.Option(128, help="Tokens per span, special tokens included."),
    steps: int = typer.Option(8, help="Steps per repeat."),
    repeats: int = typer.Option(3),
    gradient_cache_chunk_size: Optional[int] = typer.Option(None),
    length_groups: int = typer.Option(2, help="Our model's length_groups (the configs' 2)."),
    threads: Optional[int] = typer.Option(None),
) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    batches = sample_batches(
        model, read_documents(shared, batch_size * steps * 2), batch_size, max_length
    )[:steps]
    ours = our_model(model, gradient_cache_chunk_size, length_groups).train()
    theirs = SentenceTransformer(model, device="cpu").train()
    mnrl = MultipleNegativesRankingLoss(theirs, scale=20.0)  # scale = 1 / temperature 0.05
    our_optimizer = torch.optim.AdamW(ours.parameters(), lr=1e-5)
    their_optimizer = torch.optim.AdamW(theirs.parameters(), lr=1e-5)

    def our_step(batch) -> None:
        ours(**batch)["loss"].backward()
        our_optimizer.step()
        our_optimizer.zero_grad(set_to_none=True)

    def their_step(batch) -> None:
        features = [st_features(batch["anchors"]), st_features(batch["positives"])]
        mnrl(features, labels=None).backward()
        their_optimizer.step()
        their_optimizer.zero_grad(set_to_none=True)

    def run(step) -> float:
        start = time.perf_counter()
        for batch in batches:
            step(batch)
        return time.perf_counter() - start

    run(our_step), run(their_step)  # warm-up
    our_times, their_times = [], []
    for _ in range(repeats):
        our_times.append(run(our_step))
        their_times.append(run(their_step))
    peak = matmul_flops_per_s()

    tokens = sum(count_tokens(batch) for batch in batches)
    config = theirs[0].auto_model.config
    embedding_params = sum(p.numel() for p in theirs[0].auto_model.embeddings.parameters())
    params = sum(p.numel() for p in theirs.parameters()) - embedding_params
    flops = 6.0 * params * tokens + sum(
        attention_flops(b, config.num_hidden_layers, config.hidden_size) for b in batches
    )
    ours_s, theirs_s = statistics.median(our_times), statistics.median(their_times)
    result = {
        "benchmark": "training_throughput",
        "model": model,
        "batch_size": batch_size,
        "max_length": max_length,
        "steps": len(batches),
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "machine": machine(),  # the CPU and its instruction sets
        "gradient_cache_chunk_size": gradient_cache_chunk_size,
        "length_groups": length_groups,
        "ours_tokens_per_s": tokens / ours_s,
        "theirs_tokens_per_s": tokens / theirs_s,
        "ratio": theirs_s / ours_s,
        "matmul_flops_per_s": peak,
        "ours_mfu": flops / ours_s / peak,
        "theirs_mfu": flops / theirs_s / peak,
    }
    print(
        f"declutr {result['ours_tokens_per_s']:8.0f} tokens/s (MFU {result['ours_mfu']:.1%}) | "
        f"sentence-transformers {result['theirs_tokens_per_s']:8.0f} tokens/s "
        f"(MFU {result['theirs_mfu']:.1%}) | ratio {result['ratio']:.3f} | "
        f"matmul {peak / 1e9:.1f} GFLOP/s"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    typer.run(main)
