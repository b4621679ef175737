"""The articles the demo's learning rates are chosen on: a validation split of the demo's own
training articles, so that the held-out articles `declutr demo` reports on chose nothing.

`validation_corpus` builds the demo's corpus (`declutr.demo.corpus.build_corpus`, the demo's seed
and held-out draw), then holds `per_category` of its training articles per category aside as the
validation set and writes the rest as the sweep's training set, in the demo's order. The demo's
held-out articles are in neither.
"""

import json
import random
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from declutr.demo.corpus import Corpus, build_corpus, read_bbc
from declutr.demo.settings import DEFAULT_HELDOUT_PER_CATEGORY


def validation_corpus(
    output_dir: Path, max_documents: Optional[int] = None, seed: int = 13, per_category: int = 40
) -> Corpus:
    """`output_dir/corpus/train.txt` (the sweep's training articles, at most `max_documents`)
    and `output_dir/corpus/heldout.jsonl` (the validation articles, with categories)."""
    demo = build_corpus(output_dir / "demo", None, DEFAULT_HELDOUT_PER_CATEGORY, seed=seed)
    category_of = {text: category for category, text in read_bbc()}
    pool = [line.rstrip("\n") for line in demo.train_path.open(encoding="utf-8")]
    rng = random.Random(seed + 1)
    by_category: Dict[str, List[int]] = {}
    for index, text in enumerate(pool):
        by_category.setdefault(category_of[text], []).append(index)
    chosen = {i for indices in by_category.values() for i in rng.sample(indices, per_category)}
    validation: List[Tuple[str, str]] = [(category_of[pool[i]], pool[i]) for i in sorted(chosen)]
    train = [text for i, text in enumerate(pool) if i not in chosen][:max_documents]
    corpus_dir = Path(output_dir) / "corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(corpus_dir / "train.txt", corpus_dir / "heldout.jsonl")
    corpus.train_path.write_text("".join(text + "\n" for text in train), encoding="utf-8")
    with corpus.heldout_path.open("w", encoding="utf-8") as handle:
        for category, text in validation:
            handle.write(json.dumps({"text": text, "category": category}) + "\n")
    corpus.train_counts = dict(sorted(Counter(category_of[text] for text in train).items()))
    corpus.heldout_counts = dict(sorted(Counter(category for category, _ in validation).items()))
    return corpus
