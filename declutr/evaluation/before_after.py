"""Before and after training, on the same held-out documents: 1-nearest-neighbour category
accuracy and validation retrieval accuracy of an untrained and a trained DeCLUTR model. `make
demo` (`declutr demo`) prints them side by side with a verdict."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from allennlp.common import Params
from allennlp.data import Batch, DatasetReader, Instance, Vocabulary
from allennlp.models import Model
from allennlp.nn.util import move_to_device

# Differences smaller than this (2 points) are called "no clear change" by `verdict`.
TOLERANCE = 0.02


@dataclass
class HeldOutScores:
    """How one model embeds the held-out documents.

    `one_nn_accuracy`: share of documents whose most cosine-similar other document (mean pooled
    embeddings of their first `max_length` tokens) has the same category, leave-one-out;
    `retrieval_accuracy`: validation retrieval accuracy (`RetrievalMetric`) on the documents'
    deterministic validation spans, `None` if no document is long enough; `num_documents`,
    `num_pairs`: how many documents and anchor/positive pairs they were measured on; `chance`:
    the expected 1-NN accuracy of random neighbours."""

    one_nn_accuracy: float
    retrieval_accuracy: Optional[float]
    num_documents: int
    num_pairs: int
    chance: float


def one_nn_accuracy(vectors: np.ndarray, labels: Sequence[str]) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy of `vectors` (`(n, dim)`, n >= 2) by cosine:
    the share of rows whose most similar other row has the same label."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.ndim != 2 or len(vectors) < 2 or len(vectors) != len(labels):
        raise ValueError(
            f"Need an (n, dim) array with n >= 2 and n labels, got shape {vectors.shape} and "
            f"{len(labels)} labels."
        )
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    return float(np.mean([labels[i] == labels[j] for i, j in enumerate(nearest)]))


def chance_accuracy(labels: Sequence[str]) -> float:
    """Expected 1-NN accuracy when each document's neighbour is another drawn at random."""
    counts: Dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return sum(n * (n - 1) for n in counts.values()) / (len(labels) * (len(labels) - 1))


def untrained_model(
    config_path: Union[str, Path], overrides: Optional[dict] = None
) -> Tuple[Model, DatasetReader]:
    """The model and reader `config_path` (with `overrides`) describes, before any training:
    what training starts from."""
    import declutr

    declutr.register()  # the config names declutr's registered reader and model
    params = Params.from_file(str(config_path), json.dumps(overrides or {}))
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    model = Model.from_params(vocab=Vocabulary.empty(), params=params.pop("model"))
    return model, reader


def score(
    model: Model, reader: DatasetReader, heldout_path: Union[str, Path], batch_size: int = 16
) -> HeldOutScores:
    """Embed the documents of `heldout_path` (JSON lines with `"text"` and `"category"`) with
    `model` and `reader` (the "declutr" ones), and measure 1-NN category accuracy and validation
    retrieval accuracy on them."""
    with open(heldout_path, encoding="utf-8") as handle:
        documents = [json.loads(line) for line in handle if line.strip()]
    labels = [document["category"] for document in documents]
    model.eval()
    with reader.no_sample():  # type: ignore[attr-defined]
        instances = [reader.text_to_instance(d["text"]) for d in documents]  # type: ignore
    vectors = np.stack([o["embeddings"] for o in _forward(model, reader, instances, batch_size)])
    reader.set_epoch(0, deterministic=True)  # type: ignore[attr-defined]
    pairs = list(reader.read(str(heldout_path)))
    model.get_metrics(reset=True)
    _validate(model, reader, pairs, batch_size)
    retrieval = model.get_metrics(reset=True).get("retrieval_accuracy")
    return HeldOutScores(
        one_nn_accuracy=one_nn_accuracy(vectors, labels),
        retrieval_accuracy=retrieval,
        num_documents=len(documents),
        num_pairs=sum(len(pair["anchors"]) for pair in pairs),  # type: ignore[arg-type]
        chance=chance_accuracy(labels),
    )


def _forward(
    model: Model, reader: DatasetReader, instances: List[Instance], batch_size: int
) -> List[Dict]:
    outputs: List[Dict] = []
    for start in range(0, len(instances), batch_size):
        batch = instances[start : start + batch_size]
        for instance in batch:
            reader.apply_token_indexers(instance)
        outputs.extend(model.forward_on_instances(batch))
    return outputs


def _validate(
    model: Model, reader: DatasetReader, instances: List[Instance], batch_size: int
) -> None:
    """Run `model` over span-pair instances, as allennlp's validation does, for its metrics."""
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(instances), batch_size):
            batch = Batch(instances[start : start + batch_size])
            for instance in batch.instances:
                reader.apply_token_indexers(instance)
            batch.index_instances(model.vocab)
            model(**move_to_device(batch.as_tensor_dict(), device))


def verdict(before: HeldOutScores, after: HeldOutScores) -> str:
    """One line: did training make the held-out embeddings better, worse, or not clearly
    either (every change within `TOLERANCE`)?"""
    changes = {"1-NN category accuracy": after.one_nn_accuracy - before.one_nn_accuracy}
    if before.retrieval_accuracy is not None and after.retrieval_accuracy is not None:
        changes["validation retrieval accuracy"] = (
            after.retrieval_accuracy - before.retrieval_accuracy
        )
    described = ", ".join(f"{name} {100 * change:+.1f} points" for name, change in changes.items())
    if all(change > TOLERANCE for change in changes.values()):
        return f"Training improved the embeddings: {described}."
    if any(change < -TOLERANCE for change in changes.values()):
        return f"Training made the embeddings worse: {described}."
    if any(change > TOLERANCE for change in changes.values()):
        return f"Training improved the embeddings in part: {described}."
    return (
        f"No clear change (within {100 * TOLERANCE:.0f} points): {described}; expected for a "
        "model already trained for sentence embeddings."
    )
