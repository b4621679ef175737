"""The comparison's scores: dev scores that choose, test scores that report, and confidence
intervals of differences.

`dev_data` reads STS-B dev, SICK-R's trial split (`SICK_trial.txt`, which `declutr.evaluation`
calls SICKRelatedness's "dev") and the setting's validation documents. `test_data` reads STS-B
test, SICK-R test and the setting's test documents; `comparison.py` calls it under `--final` only.
Both read single files with `declutr.evaluation.tasks`' readers, so choosing never reads a test
split. Every model embeds each distinct text once (`embed`), at most 128 tokens a text:
- STS: Spearman of the pairs' cosines with the gold scores (as `declutr.evaluation`);
- `1nn`: leave-one-out 1-nearest-neighbour category accuracy of the documents, by cosine;
- `retrieval`: share of anchors whose most similar positive, among all, is their own (adjacent
  spans of the same documents, `comparison_data.retrieval_pairs`).
`dev_score`, the mean of the four, picks a row's rate and options. The per-item parts (cosines,
hits) are kept so `bootstrap_difference` can resample test items.
"""

import json
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from scipy.stats import rankdata

from declutr.inference.options import REFERENCE_RUNTIME

MAX_LENGTH = 128
METRICS = ["stsb", "sickr", "1nn", "retrieval"]


def dev_data(data_dir: Path, validation: Path, pairs, limit: Optional[int] = None) -> Dict:
    from declutr.evaluation.tasks import read_sick, read_sts_benchmark

    return _data(
        read_sts_benchmark(data_dir / "STS/STSBenchmark/sts-dev.csv"),
        read_sick(data_dir / "SICK/SICK_trial.txt"),
        validation,
        pairs,
        limit,
    )


def test_data(data_dir: Path, test: Path, pairs, limit: Optional[int] = None) -> Dict:
    """The test splits: for `--final` only."""
    from declutr.evaluation.tasks import read_sick, read_sts_benchmark

    return _data(
        read_sts_benchmark(data_dir / "STS/STSBenchmark/sts-test.csv"),
        read_sick(data_dir / "SICK/SICK_test_annotated.txt"),
        test,
        pairs,
        limit,
    )


def _data(stsb, sick, documents: Path, pairs, limit: Optional[int]) -> Dict:
    from scripts.benchmarks.comparison_data import read_records

    records = read_records(documents)

    def sts(part) -> Dict:
        keep = slice(0, limit)
        return {"first": part.first[keep], "second": part.second[keep], "gold": part.scores[keep]}

    return {
        "stsb": sts(stsb),
        "sickr": sts(sick),
        "documents": [r["text"] for r in records],
        "categories": [r["category"] for r in records],
        "anchors": list(pairs[0]),
        "positives": list(pairs[1]),
    }


def texts_of(data: Dict) -> List[str]:
    texts = data["documents"] + data["anchors"] + data["positives"]
    for task in ("stsb", "sickr"):
        texts += data[task]["first"] + data[task]["second"]
    return list(dict.fromkeys(texts))


def unit(vectors: np.ndarray) -> np.ndarray:
    vectors = vectors.astype(np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


def items(data: Dict, embed: Callable[[List[str]], np.ndarray]) -> Dict[str, np.ndarray]:
    """The per-item parts of every metric: cosines and gold scores, hits."""
    texts = texts_of(data)
    table = dict(zip(texts, unit(embed(texts))))

    def rows(strings: Sequence[str]) -> np.ndarray:
        return np.stack([table[text] for text in strings])

    parts: Dict[str, np.ndarray] = {}
    for task in ("stsb", "sickr"):
        pairs = data[task]
        parts[f"{task}_cosine"] = np.einsum("ij,ij->i", rows(pairs["first"]), rows(pairs["second"]))
        parts[f"{task}_gold"] = np.asarray(pairs["gold"], dtype=np.float64)
    documents = rows(data["documents"])
    similarity = documents @ documents.T
    np.fill_diagonal(similarity, -np.inf)
    labels = np.asarray(data["categories"])
    parts["1nn_hit"] = (labels[similarity.argmax(axis=1)] == labels).astype(np.float64)
    retrieved = (rows(data["anchors"]) @ rows(data["positives"]).T).argmax(axis=1)
    parts["retrieval_hit"] = (retrieved == np.arange(len(retrieved))).astype(np.float64)
    return parts


def spearman(predicted: np.ndarray, gold: np.ndarray) -> float:
    return float(np.corrcoef(rankdata(predicted), rankdata(gold))[0, 1])


def metric(parts: Dict[str, np.ndarray], name: str, index: Optional[np.ndarray] = None) -> float:
    """`name` of `METRICS` on the items `index` (all by default)."""
    pick = slice(None) if index is None else index
    if name in ("stsb", "sickr"):
        return spearman(parts[f"{name}_cosine"][pick], parts[f"{name}_gold"][pick])
    return float(parts[f"{name}_hit"][pick].mean())


def scores(parts: Dict[str, np.ndarray]) -> Dict[str, float]:
    values = {name: metric(parts, name) for name in METRICS}
    return {**values, "dev_score": float(np.mean(list(values.values())))}


def bootstrap_difference(
    runs_a: List[Dict[str, np.ndarray]],
    runs_b: List[Dict[str, np.ndarray]],
    name: str,
    resamples: int = 1000,
    seed: int = 0,
) -> Dict[str, float]:
    """Mean over seeds of A minus mean over seeds of B on metric `name`, and its 95% interval by
    a paired bootstrap over test items (the same resampled items for every run of both rows)."""
    size = len(runs_a[0][f"{name}_gold" if name in ("stsb", "sickr") else f"{name}_hit"])
    rng = np.random.default_rng(seed)

    def difference(index) -> float:
        a = np.mean([metric(parts, name, index) for parts in runs_a])
        return float(a - np.mean([metric(parts, name, index) for parts in runs_b]))

    draws = [difference(rng.integers(0, size, size)) for _ in range(resamples)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"difference": difference(None), "low": float(low), "high": float(high)}


def embedder(model: Dict, peer_python: Optional[Path]) -> Callable[[List[str]], np.ndarray]:
    """An embedding function for a run's `model` (`{"kind", "path"}`): declutr's `Encoder` (mean
    pooling) for archives and Hugging Face folders, the peer venv's sentence-transformers (the
    model's own pooling) for SimCSE and TSDAE, the averaged input embeddings, or TF-IDF."""
    if model["kind"] == "declutr":
        from declutr import Encoder

        # torch float32, the reference: scores do not depend on the machine's runtime choice
        encoder = Encoder(model["path"], batch_size=64, max_length=MAX_LENGTH, **REFERENCE_RUNTIME)
        return lambda texts: encoder.encode(texts, show_progress=False)
    if model["kind"] == "average":
        return AveragedEmbeddings(model["path"]).encode
    if model["kind"] == "tfidf":
        return TfidfWords(model["path"]).encode
    return lambda texts: _peer_encode(model["path"], texts, peer_python)


def _peer_encode(path: str, texts: List[str], python: Optional[Path]) -> np.ndarray:
    from scripts.benchmarks.comparison_train import run_peer

    if python is None:
        raise ValueError("A sentence-transformers model needs the peer venv.")
    with tempfile.TemporaryDirectory() as folder:
        source, output = Path(folder) / "texts.json", Path(folder) / "vectors.npy"
        source.write_text(json.dumps(texts), encoding="utf-8")
        argument = {"model": path, "texts": str(source), "output": str(output)}
        run_peer(python, "encode", {**argument, "max_length": MAX_LENGTH})
        return np.load(output)


class AveragedEmbeddings:
    """A text's vector: the mean of the base's input (token) embeddings of its tokens, special
    tokens excluded: the bag-of-embeddings baseline of a pretrained encoder."""

    def __init__(self, path: str) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        weights = AutoModel.from_pretrained(path).get_input_embeddings().weight
        self.weights = weights.detach().numpy().astype(np.float64)

    def encode(self, texts: List[str]) -> np.ndarray:
        ids = self.tokenizer(list(texts), add_special_tokens=False, truncation=True)["input_ids"]
        dimension = self.weights.shape[1]
        return np.stack(
            [self.weights[row].mean(axis=0) if row else np.zeros(dimension) for row in ids]
        )


class TfidfWords:
    """A text's vector: TF-IDF of its words (scikit-learn's `TfidfVectorizer`, sublinear term
    frequencies, the 16,384 most frequent words of at least 2 documents), fitted on the
    setting's training documents (`path`, one a line): the lexical baseline, no encoder."""

    def __init__(self, path: str, max_features: int = 16384) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from scripts.benchmarks.comparison_data import read_lines

        self.vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=2, max_features=max_features)
        self.vectorizer.fit(read_lines(Path(path)))

    def encode(self, texts: List[str]) -> np.ndarray:
        return self.vectorizer.transform(list(texts)).toarray().astype(np.float32)
