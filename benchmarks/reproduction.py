"""A small-scale reproduction of the DeCLUTR paper's claim, on two CPU cores, offline.

    python benchmarks/reproduction.py --shared-dir ../shared --output-dir /tmp/reproduction

1. Builds a small RoBERTa-style encoder from scratch: a byte-level BPE tokenizer trained on the
   base split of `../shared/data/corpus/documents.jsonl`, random weights
   (`declutr.common.from_scratch`), then a short masked-LM pretraining on that split with
   `training_config/mlm_only.jsonnet` ("base").
2. Continues from the base checkpoint, on documents the base never saw, with the same budget of
   span tokens through the encoder:
   (a) DeCLUTR, `declutr_small.jsonnet` (contrastive + masked LM),
   (b) contrastive only, `contrastive_only.jsonnet`,
   (c) masked LM only, `mlm_only.jsonnet`. It encodes anchors only, so it takes two epochs over
       the documents that (a) and (b), which also encode a positive per anchor, take once.
3. Scores base, (a), (b) and (c) on STSBenchmark, SICKRelatedness, MR and TREC
   (`declutr.evaluation`, as `scripts/evaluate.py` does), and reports how spread each model's
   vectors are (mean cosine similarity between STS-B sentences). A short masked-LM training from
   scratch collapses them (every text gets nearly the vector of the unigram solution), which
   leaves the contrastive loss no gradient to follow; so (a) and (c) are also trained, with the
   same budget, from the untrained encoder (`--no-from-random-init` skips them).
4. Separately continues all-MiniLM-L6-v2 with DeCLUTR on the corpus and scores it before and
   after.

Every stage is seeded (`--seed`). Span lengths are shorter than the paper's (`--max-span-len`,
default 128 tokens, against 512) so that the whole benchmark fits in about an hour on two CPU
cores. A stage whose output already exists under `--output-dir` is reused (`--no-reuse` redoes
it), so an interrupted run can be resumed. Prints the results table (Markdown, for the README)
and one JSON line, and writes `results.json` in `--output-dir`.
"""

import importlib.util
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Dict, List, Optional

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("declutr") is None:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(PROJECT_ROOT))

CONFIGS = PROJECT_ROOT / "training_config"
DEFAULT_SHARED = Path(os.environ.get("DECLUTR_SHARED", PROJECT_ROOT.parent / "shared"))
TASKS = ["STSBenchmark", "SICKRelatedness", "MR", "TREC"]
# Columns of the table: (task, score key, header).
COLUMNS = [
    ("STSBenchmark", "spearman", "STS-B ρ"),
    ("SICKRelatedness", "spearman", "SICK-R ρ"),
    ("MR", "accuracy", "MR acc"),
    ("TREC", "accuracy", "TREC acc"),
]

app = typer.Typer(add_completion=False, help=__doc__)
logger = logging.getLogger("reproduction")


def write_documents(texts: List[str], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for text in texts:
            handle.write(json.dumps({"text": text}) + "\n")
    return path


def train(
    config: str, model_name: str, data_path: Path, serialization_dir: Path, overrides: Dict
) -> float:
    """`allennlp train CONFIG` in this process, with `model_name` as the transformer; returns
    the wall time in seconds."""
    from allennlp.commands.train import train_model_from_file

    import declutr  # noqa: F401  (registers the components, applies the compatibility patches)

    embedder = "model.text_field_embedder.token_embedders.tokens.model_name"
    overrides = {
        "train_data_path": str(data_path),
        "dataset_reader.tokenizer.model_name": model_name,
        embedder: model_name,
        "trainer.cuda_device": -1,
        "trainer.use_amp": False,
        # Keep the archive only: no per-epoch checkpoints to write.
        "trainer.checkpointer": {"keep_most_recent_by_count": 1},
        **overrides,
    }
    start = time.perf_counter()
    train_model_from_file(
        str(CONFIGS / config), str(serialization_dir), overrides=json.dumps(overrides), force=True
    )
    return time.perf_counter() - start


def save_masked_lm(archive: Path, tokenizer_dir: str, output_dir: Path) -> str:
    """The archive's transformer with its masked-LM head, in the Hugging Face layout, so that the
    next stage can continue from it (MLM included)."""
    from transformers import AutoTokenizer

    from declutr.common.archives import load_archive_safely

    model = load_archive_safely(str(archive)).model
    embedder = model._text_field_embedder._token_embedders["tokens"]
    embedder.mlm_model.save_pretrained(str(output_dir))
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(str(output_dir))
    return str(output_dir)


def span_tokens(config: str, model_name: str, data_path: Path, overrides: Dict, epochs: int):
    """Span tokens (anchors, plus positives when the config encodes them) the run encodes,
    counted by reading the data with the run's own reader, as training does."""
    from allennlp.common import Params
    from allennlp.data import DatasetReader

    params = Params.from_file(str(CONFIGS / config), json.dumps(overrides))
    encodes_positives = params["model"].get("loss") is not None
    reader_params = params.pop("dataset_reader")
    reader_params["tokenizer"]["model_name"] = model_name
    reader = DatasetReader.from_params(reader_params)
    total = 0
    for epoch in range(epochs):
        reader.set_epoch(epoch)
        for instance in reader.read(str(data_path)):
            total += sum(len(field.tokens) for field in instance["anchors"].field_list)
            if encodes_positives:
                total += sum(len(field.tokens) for field in instance["positives"].field_list)
    return total


def score(
    model: str, data_dir: Path, tasks: List[str], batch_size: int, max_length: Optional[int]
) -> Dict:
    """Scores on `tasks`, plus how spread the embeddings are: the mean cosine similarity between
    the first 200 STS-B test sentences (near 1: every text gets nearly the same vector)."""
    import numpy as np

    from declutr import Encoder
    from declutr.evaluation import evaluate
    from declutr.evaluation.tasks import TASKS as ALL_TASKS

    encoder = Encoder(model, device="cpu", batch_size=batch_size, max_length=max_length)
    result = evaluate(encoder, data_dir, tasks, show_progress=True)
    pairs = ALL_TASKS["STSBenchmark"].read(data_dir)["test"]
    sentences = list(dict.fromkeys(pairs.first[:100] + pairs.second[:100]))[:200]
    vectors = encoder.encode(sentences, show_progress=False)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cosines = vectors @ vectors.T
    mean_cosine = float(cosines[~np.eye(len(vectors), dtype=bool)].mean())
    return {
        "scores": {task: result["results"][task][key] for task, key, _ in COLUMNS if task in tasks},
        "mean_cosine": mean_cosine,
        "results": result["results"],
        "checksums": result["checksums"],
        "eval_seconds": result["wall_time_s"],
    }


def cached(path: Path, reuse: bool, compute) -> Any:
    """`compute()`, stored as JSON at `path`, or the stored value when `reuse` and it exists."""
    if reuse and path.is_file():
        logger.info("Reusing %s", path)
        return json.loads(path.read_text())
    value = compute()
    path.write_text(json.dumps(value, indent=2))
    return value


def table(rows: List[Dict]) -> str:
    header = ["model", "training", "span tokens", "train min"] + [c[2] for c in COLUMNS]
    header.append("mean cos")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [
            row["name"],
            row["training"],
            f"{row['span_tokens'] / 1e6:.2f}M" if row.get("span_tokens") else "-",
            f"{row['train_seconds'] / 60:.1f}" if row.get("train_seconds") else "-",
        ]
        cells += [
            f"{100 * row['scores'][task]:.1f}" if task in row["scores"] else "-"
            for task, _, _ in COLUMNS
        ]
        cells.append(f"{row['mean_cosine']:.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@app.command()
def main(
    shared_dir: Annotated[Path, typer.Option(help="The shared data folder.")] = DEFAULT_SHARED,
    output_dir: Annotated[Path, typer.Option(help="Models, logs and results.")] = Path(
        "/tmp/declutr-reproduction"
    ),
    base_documents: Annotated[int, typer.Option(help="Documents of masked-LM pretraining.")] = 800,
    base_epochs: Annotated[int, typer.Option(help="Epochs of masked-LM pretraining.")] = 1,
    continue_documents: Annotated[
        int, typer.Option(help="Documents of each continuation, (a)-(c).")
    ] = 800,
    minilm_documents: Annotated[
        int, typer.Option(help="Documents of the MiniLM continuation (0: skip it).")
    ] = 600,
    max_span_len: Annotated[int, typer.Option(help="Longest span, in tokens.")] = 128,
    min_span_len: Annotated[int, typer.Option(help="Shortest span, in tokens.")] = 16,
    batch_size: Annotated[int, typer.Option(help="Documents per batch (2 anchors each).")] = 8,
    vocab_size: Annotated[int, typer.Option(help="BPE vocabulary of the new encoder.")] = 8192,
    hidden_size: Annotated[int, typer.Option(help="Width of the new encoder.")] = 256,
    num_layers: Annotated[int, typer.Option(help="Layers of the new encoder.")] = 4,
    learning_rate: Annotated[float, typer.Option(help="Peak rate of the new encoder.")] = 5e-4,
    minilm_learning_rate: Annotated[float, typer.Option(help="Peak rate for MiniLM.")] = 2e-5,
    eval_batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 64,
    from_random_init: Annotated[
        bool, typer.Option(help="Also train (a) and (c) from the untrained encoder.")
    ] = True,
    tasks: Annotated[str, typer.Option(help="Comma-separated evaluation tasks.")] = ",".join(TASKS),
    seed: Annotated[int, typer.Option(help="Seeds sampling, initialisation, training.")] = 13,
    reuse: Annotated[bool, typer.Option(help="Reuse finished stages in --output-dir.")] = True,
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("allennlp", "transformers", "declutr", "filelock", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch
    from transformers import AutoModel

    from declutr.common.from_scratch import build_encoder_from_scratch

    started = time.perf_counter()
    task_list = [task.strip() for task in tasks.split(",") if task.strip()]
    corpus = shared_dir / "data/corpus/documents.jsonl"
    data_dir = shared_dir / "data/senteval"
    minilm = shared_dir / "models/all-MiniLM-L6-v2"
    for path in (corpus, data_dir):
        if not path.exists():
            raise typer.BadParameter(f"{path} is missing; point --shared-dir at the shared data.")
    output_dir.mkdir(parents=True, exist_ok=True)
    logger.info("torch threads: %d", torch.get_num_threads())

    with corpus.open(encoding="utf-8") as handle:
        documents = [json.loads(line)["text"] for line in handle]
    random.Random(seed).shuffle(documents)
    needed = base_documents + continue_documents
    if needed > len(documents):
        raise typer.BadParameter(f"{needed} documents asked for, the corpus has {len(documents)}.")
    base_path = write_documents(documents[:base_documents], output_dir / "base.jsonl")
    continue_path = write_documents(documents[base_documents:needed], output_dir / "continue.jsonl")

    spans = {
        "dataset_reader.num_anchors": 2,
        "dataset_reader.num_positives": 1,
        "dataset_reader.min_span_len": min_span_len,
        "dataset_reader.max_span_len": max_span_len,
        "dataset_reader.max_length": max_span_len,
        "data_loader.batch_size": batch_size,
        "random_seed": seed,
        "numpy_seed": seed,
        "pytorch_seed": seed,
    }
    new_encoder = {**spans, "trainer.optimizer.lr": learning_rate}
    rows: List[Dict] = []

    # 1. The encoder from scratch and its masked-LM pretraining.
    scratch = output_dir / "scratch"
    if not (reuse and (scratch / "config.json").is_file()):
        build_encoder_from_scratch(
            documents[:base_documents],
            scratch,
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=hidden_size // 64,
            intermediate_size=4 * hidden_size,
            seed=seed,
        )
    num_parameters = AutoModel.from_pretrained(str(scratch)).num_parameters()
    logger.info("encoder from scratch: %.2fM parameters", num_parameters / 1e6)

    def run(name: str, config: str, model_name: str, data: Path, overrides: Dict, epochs=1):
        overrides = {**overrides, "trainer.num_epochs": epochs}
        serialization_dir = output_dir / name

        def compute():
            seconds = train(config, model_name, data, serialization_dir, overrides)
            tokens = span_tokens(config, model_name, data, overrides, epochs)
            return {"train_seconds": seconds, "span_tokens": tokens}

        trained = cached(output_dir / f"{name}.train.json", reuse, compute)
        logger.info("%s: trained in %.0f s", name, trained["train_seconds"])
        return serialization_dir / "model.tar.gz", trained

    base_archive, base_trained = run(
        "base", "mlm_only.jsonnet", str(scratch), base_path, new_encoder, base_epochs
    )
    base_mlm = save_masked_lm(base_archive, str(scratch), output_dir / "base-hf")

    def evaluated(name: str, model: str, max_length: Optional[int] = None) -> Dict:
        result = cached(
            output_dir / f"{name}.eval.json",
            reuse,
            lambda: score(model, data_dir, task_list, eval_batch_size, max_length),
        )
        logger.info("%s: %s", name, result["scores"])
        return result

    rows.append(
        {
            "name": "base",
            "training": f"MLM from scratch, {base_documents} docs x {base_epochs}",
            **base_trained,
            **evaluated("base", str(base_archive)),
        }
    )

    # 2-3. The three continuations, the same span-token budget each.
    variants = [
        ("a_declutr", "(a) DeCLUTR", "declutr_small.jsonnet", 1),
        ("b_contrastive", "(b) contrastive only", "contrastive_only.jsonnet", 1),
        ("c_mlm", "(c) MLM only", "mlm_only.jsonnet", 2),
    ]
    for name, label, config, epochs in variants:
        archive, trained = run(name, config, base_mlm, continue_path, new_encoder, epochs)
        rows.append(
            {
                "name": label,
                "training": f"base + {continue_documents} docs x {epochs}",
                **trained,
                **evaluated(name, str(archive)),
            }
        )

    # 2'. The same budgets from the untrained encoder, whose vectors are not yet collapsed.
    if from_random_init:
        rows.append(
            {"name": "random init", "training": "none", **evaluated("random_init", str(scratch))}
        )
        for name, label, config, epochs in [variants[0], variants[2]]:
            archive, trained = run(
                f"{name}_from_init", config, str(scratch), continue_path, new_encoder, epochs
            )
            rows.append(
                {
                    "name": f"{label} from random init",
                    "training": f"{continue_documents} docs x {epochs}",
                    **trained,
                    **evaluated(f"{name}_from_init", str(archive)),
                }
            )

    # 4. MiniLM before and after continued DeCLUTR training.
    if minilm_documents > 0:
        if not (minilm / "config.json").is_file():
            raise typer.BadParameter(f"{minilm} is missing; pass --minilm-documents 0 to skip.")
        minilm_path = write_documents(
            documents[base_documents : base_documents + minilm_documents],
            output_dir / "minilm.jsonl",
        )
        # The harness's reference setting: 128 tokens (see tests/evaluation/test_reference.py).
        before = evaluated("minilm_before", str(minilm), max_length=128)
        rows.append({"name": "all-MiniLM-L6-v2", "training": "as published", **before})
        overrides = {**spans, "trainer.optimizer.lr": minilm_learning_rate}
        archive, trained = run(
            "minilm_declutr", "declutr_small.jsonnet", str(minilm), minilm_path, overrides
        )
        after = evaluated("minilm_declutr", str(archive), max_length=128)
        rows.append(
            {
                "name": "all-MiniLM-L6-v2 + DeCLUTR",
                "training": f"+ {minilm_documents} docs",
                **trained,
                **after,
            }
        )

    summary = {
        "benchmark": "reproduction",
        "seed": seed,
        "encoder_parameters": num_parameters,
        "settings": {
            "base_documents": base_documents,
            "base_epochs": base_epochs,
            "continue_documents": continue_documents,
            "minilm_documents": minilm_documents,
            "min_span_len": min_span_len,
            "max_span_len": max_span_len,
            "batch_size": batch_size,
            "vocab_size": vocab_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "learning_rate": learning_rate,
            "minilm_learning_rate": minilm_learning_rate,
            "torch_threads": torch.get_num_threads(),
        },
        "rows": [
            {key: row.get(key) for key in ("name", "training", "span_tokens", "train_seconds")}
            | {key: row[key] for key in ("scores", "mean_cosine", "eval_seconds")}
            for row in rows
        ],
        "wall_time_s": time.perf_counter() - started,
    }
    (output_dir / "results.json").write_text(json.dumps(summary, indent=2))
    print()
    print(table(rows))
    print()
    print(
        f"Wall time: {summary['wall_time_s'] / 60:.1f} min (stages reused from earlier runs "
        "count their own recorded times in the table, not in this total)."
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    app()
