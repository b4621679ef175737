"""The comparison's training: allennlp for the DeCLUTR and masked-LM rows, the peer venv's
sentence-transformers for SimCSE and TSDAE, each to a budget of encoder tokens.

Encoder tokens are tokens through the encoder, forward and backward, counted by reading the run's
data with its own reader and seed (as `reproduction_train.span_tokens` does), special tokens
included:
- DeCLUTR, the paper's single pass: anchors (masked) and positives;
- DeCLUTR with `unmasked_anchors`: anchors twice (masked for the masked LM, unmasked for the
  contrastive loss) and positives;
- contrastive only: anchors and positives; masked LM only: anchors;
- SimCSE: every sentence twice; TSDAE: the damaged sentence (its decoder's tokens are recorded
  apart, `decoder_tokens`).
An allennlp run reads a prefix of the training documents, as many as its budget needs (several
epochs when one pass is short); the counted total is recorded, within a few percent of the budget.
"""

import json
import math
import os
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Tuple

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = PROJECT_ROOT / "training_config"
EMBEDDER = "model.text_field_embedder.token_embedders.tokens"


def overrides(config: str, base: str, data: Path, options: Dict, seed: int, epochs: int) -> Dict:
    """allennlp overrides of `config` for one run: the base, the CPU, the documents' length
    (`short_documents: "shrink"`), the seed, and the row's `options` (dotted keys; `lr`)."""
    settings = {
        "train_data_path": str(data),
        "dataset_reader.tokenizer.model_name": base,
        f"{EMBEDDER}.model_name": base,
        "dataset_reader.short_documents": "shrink",
        "trainer.num_epochs": epochs,
        "trainer.cuda_device": -1,
        "trainer.use_amp": False,
        "trainer.optimizer.lr": options["lr"],
        "trainer.checkpointer": {"keep_most_recent_by_count": 1},
        "dataset_reader.seed": seed,  # the same spans in training and in `count_tokens`
        "random_seed": seed,
        "numpy_seed": seed,
        "pytorch_seed": seed,
    }
    settings.update({key: value for key, value in options.items() if key != "lr"})
    return settings


def count_tokens(config: str, settings: Dict, epochs: int) -> Tuple[int, int]:
    """(encoder tokens, instances) of a run with `settings`, over `epochs` epochs."""
    from allennlp.common import Params
    from allennlp.data import DatasetReader

    import declutr

    declutr.register()
    params = Params.from_file(str(CONFIGS / config), json.dumps(settings))
    model = params["model"]
    contrastive = model.get("loss") is not None
    twice = contrastive and model.get("masked_language_modeling", True)
    twice = twice and bool(model.get("unmasked_anchors", False))
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    tokens = instances = 0
    for epoch in range(epochs):
        reader.set_epoch(epoch)
        for instance in reader.read(settings["train_data_path"]):
            instances += 1
            anchors = sum(len(field.tokens) for field in instance["anchors"].field_list)
            tokens += anchors * (2 if twice else 1)
            if contrastive:
                tokens += sum(len(field.tokens) for field in instance["positives"].field_list)
    return tokens, instances


def documents_for(
    config: str, base: str, train_path: Path, run_dir: Path, options: Dict, seed: int, budget: int
) -> Tuple[Path, int]:
    """(documents file, epochs) whose encoder tokens are about `budget`: one counted pass over
    every training document gives the mean per document; the prefix and the epochs follow."""
    texts = [line for line in train_path.read_text(encoding="utf-8").splitlines() if line]
    full, instances = count_tokens(config, overrides(config, base, train_path, options, seed, 1), 1)
    per_document = full / max(1, instances)
    epochs = max(1, math.ceil(budget / max(1, full)))
    count = min(len(texts), max(1, round(budget / (epochs * per_document))))
    data = run_dir / "documents.txt"
    data.write_text("".join(text + "\n" for text in texts[:count]), encoding="utf-8")
    return data, epochs


def train_allennlp(
    config: str, base: str, train_path: Path, run_dir: Path, options: Dict, seed: int, budget: int
) -> Dict:
    """One allennlp run in this process; its archive is `run_dir/model/model.tar.gz`."""
    from allennlp.commands.train import train_model_from_file

    import declutr

    declutr.register()
    run_dir.mkdir(parents=True, exist_ok=True)
    data, epochs = documents_for(config, base, train_path, run_dir, options, seed, budget)
    settings = overrides(config, base, data, options, seed, epochs)
    tokens, instances = count_tokens(config, settings, epochs)
    batch_size = json.loads(json.dumps(settings)).get("data_loader.batch_size")
    started = time.perf_counter()
    train_model_from_file(
        str(CONFIGS / config), str(run_dir / "model"), overrides=json.dumps(settings), force=True
    )
    seconds = time.perf_counter() - started
    metrics = json.loads((run_dir / "model" / "metrics.json").read_text())
    return {
        "encoder_tokens": tokens,
        "instances": instances,
        "documents": sum(1 for _ in data.open(encoding="utf-8")),
        "epochs": epochs,
        "batch_size": batch_size,
        "train_seconds": seconds,
        "train_loss": metrics.get("training_loss"),
        "model": {"kind": "declutr", "path": str(run_dir / "model" / "model.tar.gz")},
    }


def train_peer(
    python: Path, method: str, base: str, sentences: Path, run_dir: Path, options: Dict, seed: int,
    budget: int,
) -> Dict:  # fmt: skip
    """SimCSE or TSDAE in the peer venv; its model is `run_dir/model` (sentence-transformers)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    argument = {
        "method": method,
        "base": base,
        "texts": str(sentences),
        "output": str(run_dir),
        "learning_rate": options["lr"],
        "recipe": {key: value for key, value in options.items() if key != "lr"},
        "seed": seed,
        "tokens": budget,
    }
    result = run_peer(python, "train", argument)
    return {**result, "model": {"kind": "st", "path": str(run_dir / "model")}}


def run_peer(python: Path, command: str, argument: Dict) -> Dict:
    """`comparison_peer.py command argument` in the peer venv: its JSON result."""
    script = Path(__file__).with_name("comparison_peer.py")
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": ""}
    done = subprocess.run(
        [str(python), str(script), command, json.dumps(argument)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"peer {command} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def sentence_file(documents: List[str], path: Path) -> Path:
    """The training documents' sentences, one a line (the SimCSE and TSDAE rows' data)."""
    from scripts.benchmarks.comparison_data import sentences, write_lines

    if not path.is_file():
        write_lines(sentences(documents), path)
    return path
