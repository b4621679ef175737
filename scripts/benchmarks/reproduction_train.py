"""The reproduction's continuations: allennlp training, in this process, from the base.

Each variant is one of the paper's configs in `training_config/` with overrides for a small CPU
run: the base as the transformer, shorter spans, the CPU, and a sound optimizer for a model
trained from scratch (Adam's bias correction on, a linear warm-up over a share of the steps and a
measured peak rate, in place of the paper's `correct_bias: false` and DistilRoBERTa rate).
"""

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import torch

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = PROJECT_ROOT / "training_config"
EMBEDDER = "model.text_field_embedder.token_embedders.tokens"


@dataclass(frozen=True)
class Variant:
    """A continuation: its short name, label, config and epochs over the documents."""

    name: str
    label: str
    config: str
    epochs: int


# (c) encodes anchors only, (a) and (b) an anchor and a positive each: two epochs of (c) encode
# as many span tokens as one of (a) or (b).
VARIANTS = [
    Variant("a_declutr", "(a) DeCLUTR", "declutr_small.jsonnet", 1),
    Variant("b_contrastive", "(b) contrastive only", "contrastive_only.jsonnet", 1),
    Variant("c_mlm", "(c) MLM only", "mlm_only.jsonnet", 2),
]


def overrides(
    variant: Variant,
    model_name: str,
    data_path: Path,
    num_documents: int,
    opts: Dict,
    seed: int,
) -> Dict:
    """allennlp overrides of `variant`'s config for one seed."""
    batch_size = opts["continue_batch_size"]
    steps_per_epoch = math.ceil(num_documents / batch_size)
    warmup = max(1, round(opts["warmup_fraction"] * steps_per_epoch * variant.epochs))
    return {
        "train_data_path": str(data_path),
        "dataset_reader.tokenizer.model_name": model_name,
        f"{EMBEDDER}.model_name": model_name,
        "dataset_reader.num_anchors": 2,
        "dataset_reader.num_positives": 1,
        "dataset_reader.min_span_len": opts["min_span_len"],
        "dataset_reader.max_span_len": opts["max_span_len"],
        "dataset_reader.max_length": opts["max_span_len"],
        "data_loader.batch_size": batch_size,
        "model.loss.temperature": opts["temperature"],
        **(
            {
                "model.mlm_weight": opts["mlm_weight"],
                "model.mlm_probability": opts["mlm_probability"],
                "model.unmasked_anchors": opts["unmasked_anchors"],
            }
            if variant.name == "a_declutr"
            else {}
        ),
        "trainer.num_epochs": variant.epochs,
        "trainer.cuda_device": 0 if torch.cuda.is_available() else -1,
        "trainer.use_amp": False,
        "trainer.optimizer.lr": opts["continue_lr"],
        "trainer.optimizer.correct_bias": True,
        "trainer.learning_rate_scheduler": {"type": "linear_with_warmup", "warmup_steps": warmup},
        # Keep the archive only: no per-epoch checkpoints to write.
        "trainer.checkpointer": {"keep_most_recent_by_count": 1},
        "dataset_reader.seed": seed,  # the same spans in training and in span_tokens
        "random_seed": seed,
        "numpy_seed": seed,
        "pytorch_seed": seed,
    }


def mlm_documents(settings: Dict, num_documents: int) -> int:
    """Documents for two epochs of (c) to encode the span tokens of one epoch of (a) or (b):
    (c) encodes anchors only, and anchors are longer than positives, so it gets fewer documents.
    `settings` are (a)'s overrides; the same seed samples the same anchors for (c)."""
    with_positives, _ = span_tokens(VARIANTS[0], settings)
    anchors_only, _ = span_tokens(
        Variant("", "", VARIANTS[2].config, 1), _without_loss(VARIANTS[2], settings)
    )
    return round(num_documents * with_positives / (2 * anchors_only))


def _without_loss(variant: Variant, settings: Dict) -> Dict:
    """(c) has no contrastive loss, so no temperature to override."""
    if variant.config == "mlm_only.jsonnet":
        return {key: value for key, value in settings.items() if not key.startswith("model.loss")}
    return settings


def train(variant: Variant, settings: Dict, serialization_dir: Path) -> Dict:
    """Trains `variant` with `settings` (from `overrides`); returns its wall time, optimizer
    steps and span tokens."""
    from allennlp.commands.train import train_model_from_file

    import declutr

    declutr.register()  # the components, and the compatibility patches

    settings = _without_loss(variant, settings)
    start = time.perf_counter()
    train_model_from_file(
        str(CONFIGS / variant.config),
        str(serialization_dir),
        overrides=json.dumps(settings),
        force=True,
    )
    seconds = time.perf_counter() - start
    metrics = json.loads((serialization_dir / "metrics.json").read_text())
    tokens, instances = span_tokens(variant, settings)
    batch_size = settings["data_loader.batch_size"]
    return {
        "train_seconds": seconds,
        "span_tokens": tokens,
        "steps": sum(math.ceil(count / batch_size) for count in instances),
        "metrics": metrics,
    }


def span_tokens(variant: Variant, settings: Dict) -> Tuple[int, List[int]]:
    """Span tokens through the encoder (anchors, plus positives when the config encodes them)
    and instances per epoch, counted by reading the data with the run's own reader and seed, as
    training does."""
    from allennlp.common import Params
    from allennlp.data import DatasetReader

    params = Params.from_file(str(CONFIGS / variant.config), json.dumps(settings))
    encodes_positives = params["model"].get("loss") is not None
    reader_params = params.pop("dataset_reader")
    reader = DatasetReader.from_params(reader_params)
    total, instances = 0, []
    for epoch in range(variant.epochs):
        reader.set_epoch(epoch)
        instances.append(0)
        for instance in reader.read(settings["train_data_path"]):
            instances[-1] += 1
            total += sum(len(field.tokens) for field in instance["anchors"].field_list)
            if encodes_positives:
                total += sum(len(field.tokens) for field in instance["positives"].field_list)
    return total, instances
