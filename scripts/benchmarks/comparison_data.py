"""The comparison benchmark's data: the two settings' documents, split three ways.

Every setting has training documents (one a line, `train.txt`), validation documents and test
documents (`{"text", "category"}` JSON lines). Choices are made on the validation documents (and
STS-B dev, SICK-R trial); the test documents are read only by `--final`.

- S2, domain adaptation: the BBC News articles of `declutr demo`
  (`declutr.demo.corpus.build_corpus(out, None, 40, seed=13)`). Its 200 held-out articles are the
  test documents. Its training articles less 40 per category (`demo_validation.validation_corpus`)
  are the validation documents; the rest are trained on.
- S1, from scratch: `../shared/data/corpus/documents.jsonl` split as the reproduction splits it
  (`reproduction_base.split_documents`, 300 held out, seed 13). The first half of the held-out
  documents validates, the second half tests; the category is the document's `source`. The
  base's masked-LM sweep reads its held-out rows from the first documents of the held-out list,
  so from the validation half only.

`retrieval_pairs` samples one anchor and one adjacent positive from each document (the "declutr"
reader, `sampling_strategy: "adjacent"`, `deterministic: true`): positives share no token with
their anchor, so retrieval measures more than token overlap.
"""

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# Sentences: a split after ., ! or ? followed by a capital, a quote or a digit. nltk's punkt data
# cannot be downloaded here; this is enough for news and documentation prose.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'A-Z0-9])")


@dataclass
class Setting:
    """One setting's base model and files (all paths, written by `prepare_*`)."""

    name: str
    base_model: str
    train_path: Path
    validation_path: Path
    test_path: Path


def read_records(path: Path, limit: Optional[int] = None) -> List[Dict[str, str]]:
    with Path(path).open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return records[:limit]


def write_records(records: List[Dict[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def write_lines(texts: List[str], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(" ".join(text.split()) + "\n" for text in texts), encoding="utf-8")
    return path


def read_lines(path: Path) -> List[str]:
    return [line.rstrip("\n") for line in Path(path).open(encoding="utf-8") if line.strip()]


def prepare_s2(data_dir: Path, base_model: str, limits: Dict[str, Optional[int]]) -> Setting:
    """The BBC articles (`limits`: `train`, `eval` documents at most, for smoke runs)."""
    from scripts.benchmarks.demo_validation import validation_corpus

    corpus = validation_corpus(data_dir, limits.get("train"), seed=13, per_category=40)
    test = read_records(data_dir / "demo" / "corpus" / "heldout.jsonl")
    validation = read_records(corpus.heldout_path)
    return Setting(
        "s2",
        base_model,
        corpus.train_path,
        write_records(_spread(validation, limits.get("eval")), data_dir / "validation.jsonl"),
        write_records(_spread(test, limits.get("eval")), data_dir / "test.jsonl"),
    )


def prepare_s1(
    data_dir: Path, corpus: Path, num_held_out: int, limits: Dict[str, Optional[int]]
) -> Tuple[List[str], List[str], Dict[str, Path]]:
    """(training texts, held-out texts as the base sees them, paths): the split of the
    reproduction. The validation and test files hold `{"text", "category": source}` records."""
    from scripts.benchmarks.reproduction_base import split_documents

    train_texts, held_texts = split_documents(corpus, num_held_out, 13)
    with corpus.open(encoding="utf-8") as handle:
        source = {(r := json.loads(line))["text"]: r["source"] for line in handle}
    held = [{"text": text, "category": source[text]} for text in held_texts]
    half = len(held) // 2
    train = train_texts[: limits.get("train")]
    paths = {
        "train": write_lines(train, data_dir / "train.txt"),
        "validation": write_records(
            _spread(held[:half], limits.get("eval")), data_dir / "val.jsonl"
        ),
        "test": write_records(_spread(held[half:], limits.get("eval")), data_dir / "test.jsonl"),
    }
    return train, held_texts, paths


def _spread(records: List[Dict[str, str]], limit: Optional[int]) -> List[Dict[str, str]]:
    """At most `limit` records, drawn (seeded) so that every category stays represented."""
    if limit is None or limit >= len(records):
        return records
    return sorted(random.Random(0).sample(records, limit), key=records.index)


def sentences(documents: List[str], min_words: int = 4) -> List[str]:
    """The documents' sentences of at least `min_words` words, in order (SimCSE and TSDAE train
    on sentences, as their recipes do)."""
    found = []
    for document in documents:
        found += [s for s in SENTENCE_END.split(document) if len(s.split()) >= min_words]
    return found


def retrieval_pairs(
    model_name: str, documents: Path, min_span_len: int, max_span_len: int
) -> Tuple[List[str], List[str]]:
    """(anchors, positives) as text: one adjacent pair per document, the same for every model
    (`reproduction_eval.retrieval_pairs` with positives beside their anchors only)."""
    from scripts.benchmarks.reproduction_eval import retrieval_pairs as sampled_pairs

    texts = [record["text"] for record in read_records(documents)]
    lines = write_lines(texts, documents.with_suffix(".txt"))
    return sampled_pairs(
        model_name,
        lines,
        min_span_len,
        max_span_len,
        sampling_strategy="adjacent",
        short_documents="shrink",
        deterministic=True,
    )
