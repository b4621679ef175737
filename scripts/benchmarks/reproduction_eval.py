"""Scores of the reproduction's models, and the table of mean +- sd over seeds.

`score` runs SentEval tasks with `declutr.evaluation` (as `declutr evaluate` does) and adds
the mean cosine between STS-B test sentences (near 1: every text gets nearly the same vector, the
collapse of a masked LM stuck at the unigram stage). `retrieval_pairs` samples one anchor and one
positive span from each held-out document with the training reader and a fixed seed;
`retrieval_accuracy` is the share of anchors whose nearest positive (cosine, among all
positives) is their own.
"""

import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from declutr.inference.options import REFERENCE_RUNTIME

TASKS = ["STSBenchmark", "SICKRelatedness", "MR", "TREC"]
# Columns of the table: (key in a row's "scores", header).
COLUMNS = [
    ("STSBenchmark", "STS-B ρ"),
    ("SICKRelatedness", "SICK-R ρ"),
    ("MR", "MR acc"),
    ("TREC", "TREC acc"),
    ("retrieval", "val retr. acc"),
]
SCORE_KEYS = {"STSBenchmark": "spearman", "SICKRelatedness": "spearman"}


def retrieval_pairs(
    model_name: str,
    documents: Path,
    min_span_len: int,
    max_span_len: int,
    seed: int = 0,
    **reader_options: Any,
) -> Tuple[List[str], List[str]]:
    """(anchors, positives): one of each per held-out document, sampled by the training reader
    with a fixed seed (the same spans for every model), as text. `reader_options` are more
    arguments of the "declutr" reader (e.g. `sampling_strategy="adjacent"`)."""
    from allennlp.data.tokenizers import PretrainedTransformerTokenizer

    import declutr
    from declutr.data.dataset_readers import DeCLUTRDatasetReader

    declutr.register()  # the compatibility patches allennlp's tokenizer needs
    tokenizer = PretrainedTransformerTokenizer(model_name)
    reader = DeCLUTRDatasetReader(
        tokenizer=tokenizer,
        num_anchors=1,
        num_positives=1,
        min_span_len=min_span_len,
        max_span_len=max_span_len,
        max_length=max_span_len,
        shuffle_buffer_size=0,
        seed=seed,
        **reader_options,
    )
    hf_tokenizer = tokenizer.tokenizer

    def text(field) -> str:
        return hf_tokenizer.convert_tokens_to_string([t.text for t in field.tokens[1:-1]])

    anchors, positives = [], []
    for instance in reader.read(str(documents)):
        anchors.append(text(instance["anchors"].field_list[0]))
        positives.append(text(instance["positives"].field_list[0]))
    return anchors, positives


def _normalized(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


def retrieval_accuracy(encoder, anchors: Sequence[str], positives: Sequence[str]) -> float:
    """Share of anchors whose most similar positive (cosine) is their own."""
    a = _normalized(encoder.encode(list(anchors), show_progress=False))
    p = _normalized(encoder.encode(list(positives), show_progress=False))
    return float(((a @ p.T).argmax(axis=1) == np.arange(len(a))).mean())


def mean_cosine(encoder, data_dir: Path) -> float:
    """Mean cosine similarity between the first 200 distinct STS-B test sentences."""
    from declutr.evaluation import TASKS as ALL_TASKS

    pairs = ALL_TASKS["STSBenchmark"].read(data_dir)["test"]
    sentences = list(dict.fromkeys(pairs.first[:100] + pairs.second[:100]))[:200]
    vectors = _normalized(encoder.encode(sentences, show_progress=False))
    cosines = vectors @ vectors.T
    return float(cosines[~np.eye(len(vectors), dtype=bool)].mean())


def score(
    model: str,
    data_dir: Path,
    tasks: List[str],
    pairs: Tuple[List[str], List[str]],
    batch_size: int = 64,
    max_length: Optional[int] = None,
) -> Dict:
    """SentEval `tasks`, held-out retrieval accuracy and the mean cosine of `model`."""
    from declutr import Encoder
    from declutr.evaluation import evaluate

    # GPU when there is one; torch float32, the reference, whatever runtime the machine offers
    encoder = Encoder(model, batch_size=batch_size, max_length=max_length, **REFERENCE_RUNTIME)
    result = evaluate(encoder, data_dir, tasks, show_progress=False)
    scores = {
        task: result["results"][task][SCORE_KEYS.get(task, "accuracy")]
        for task in tasks
        if task in result["results"]
    }
    scores["retrieval"] = retrieval_accuracy(encoder, *pairs)
    return {
        "scores": scores,
        "mean_cosine": mean_cosine(encoder, data_dir),
        "results": result["results"],
        "checksums": result["checksums"],
        "eval_seconds": result["wall_time_s"],
    }


def _mean_sd(values: List[float], scale: float = 100.0, digits: int = 1) -> str:
    if not values:
        return "-"
    mean = statistics.mean(values) * scale
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def table(groups: List[Dict]) -> str:
    """Markdown: one row per model (`groups[i]["runs"]` are its seeds), mean ± sd."""
    header = ["model", "seeds", "steps", "span tokens", "train min"]
    header += [name for _, name in COLUMNS] + ["mean cos"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group in groups:
        runs = group["runs"]
        cells = [group["name"], str(len(runs)), str(group.get("steps", "-"))]
        tokens = [run["span_tokens"] for run in runs if run.get("span_tokens")]
        cells.append(f"{statistics.mean(tokens) / 1e6:.2f}M" if tokens else "-")
        minutes = [run["train_seconds"] / 60 for run in runs if run.get("train_seconds")]
        cells.append(f"{statistics.mean(minutes):.1f}" if minutes else "-")
        for key, _ in COLUMNS:
            values = [run["scores"][key] for run in runs if key in run["scores"]]
            fewer = f" (n={len(values)})" if 0 < len(values) < len(runs) else ""
            cells.append(_mean_sd(values) + fewer)
        cells.append(_mean_sd([run["mean_cosine"] for run in runs], scale=1.0, digits=3))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(
    groups: List[Dict], tasks: Sequence[str] = ("STSBenchmark", "SICKRelatedness")
) -> List[str]:
    """Lines comparing (a) and (b) with (c) and the base: the difference of means and whether it
    exceeds 2 standard deviations (over seeds, the larger of the two groups')."""
    by_name = {group["name"][:3]: group for group in groups}
    lines = []
    for better in ("(a)", "(b)"):
        for worse in ("(c)", "bas"):
            if better not in by_name or worse not in by_name:
                continue
            for task in tasks:
                if task not in by_name[better]["runs"][0]["scores"]:
                    continue
                high = [run["scores"][task] for run in by_name[better]["runs"]]
                low = [run["scores"][task] for run in by_name[worse]["runs"]]
                sds = [statistics.stdev(v) for v in (high, low) if len(v) > 1]
                difference = 100 * (statistics.mean(high) - statistics.mean(low))
                sd = 100 * max(sds) if sds else float("nan")
                reached = "above" if difference > 2 * sd else "NOT above"
                lines.append(
                    f"{by_name[better]['name']} - {by_name[worse]['name']} on {task}: "
                    f"{difference:+.1f} (2 sd = {2 * sd:.1f}): {reached}"
                )
    return lines
