"""Tiny SentEval task files written in SentEval's `data/downstream` layout, and a deterministic
bag-of-words encoder for the tests that are about the metric code, not the model."""

import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pytest

from declutr.evaluation.tasks import STS_SUBSETS, TASKS, TREC_CLASSES

FILLERS = "the a film plot story actor scene music night city road house".split()
POSITIVE = "good great fine nice superb".split()
NEGATIVE = "bad awful poor dull weak".split()
# One keyword a TREC class, so that a linear classifier separates the classes.
TREC_KEYWORDS = dict(zip(TREC_CLASSES, "acronym describe thing who where many".split()))


class BagOfWords:
    """Embeds a text as the sum of fixed random vectors of its words (seeded by the word), so
    texts sharing words are similar. Records every `encode` call."""

    def __init__(self, dim: int = 32) -> None:
        self.dim = dim
        self.calls: List[List[str]] = []

    def word(self, word: str) -> np.ndarray:
        return np.random.default_rng(zlib.crc32(word.encode("utf-8"))).standard_normal(self.dim)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: Optional[int] = None,
        normalize: bool = False,
        show_progress: Optional[bool] = None,
    ) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = [sum((self.word(w) for w in t.split()), np.zeros(self.dim)) for t in texts]
        return np.array(vectors, dtype=np.float32).reshape(len(texts), self.dim)


def _words(rng: np.random.Generator, count: int, vocabulary: Sequence[str]) -> List[str]:
    return [str(word) for word in rng.choice(vocabulary, size=count)]


def _sts_pairs(rng: np.random.Generator, count: int) -> List[tuple]:
    """`(sentence1, sentence2, score)`: the score is how many of 5 words the sentences share."""
    vocabulary = [f"w{i}" for i in range(40)]
    pairs = []
    for index in range(count):
        shared = index % 6
        words = [str(w) for w in rng.choice(vocabulary, size=10, replace=False)]
        first = words[:5]
        second = first[:shared] + words[5 : 10 - shared]
        pairs.append((" ".join(first), " ".join(second), float(shared)))
    return pairs


def _write(path: Path, lines: List[str], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding=encoding)


def _labelled(rng: np.random.Generator, keywords: Sequence[str], count: int) -> List[str]:
    return [" ".join(_words(rng, 3, FILLERS) + [str(rng.choice(keywords))]) for _ in range(count)]


def write_sts(root: Path, rng: np.random.Generator) -> None:
    for year, subsets in STS_SUBSETS.items():
        for subset in subsets:
            pairs = _sts_pairs(rng, 12)
            directory = root / "STS" / f"{year}-en-test"
            _write(directory / f"STS.input.{subset}.txt", [f"{a}\t{b}" for a, b, _ in pairs])
            # The last pair has no gold score, as some pairs of the real files.
            gold = [f"{score:.1f}" for _, _, score in pairs[:-1]] + [""]
            _write(directory / f"STS.gs.{subset}.txt", gold)
    for split in ("train", "dev", "test"):
        rows = [
            f"main-captions\tMSRvid\t2012test\t{i:04d}\t{score:.3f}\t{a}\t{b}"
            for i, (a, b, score) in enumerate(_sts_pairs(rng, 30))
        ]
        _write(root / "STS" / "STSBenchmark" / f"sts-{split}.csv", rows)
    for split in ("train", "trial", "test_annotated"):
        rows = [
            f"{i}\t{a}\t{b}\t{1 + score * 0.8:.1f}\tNEUTRAL"
            for i, (a, b, score) in enumerate(_sts_pairs(rng, 30))
        ]
        header = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"
        _write(root / "SICK" / f"SICK_{split}.txt", [header] + rows)


def write_classification(root: Path, rng: np.random.Generator) -> None:
    files = {
        "MR": ("rt-polarity.pos", "rt-polarity.neg"),
        "CR": ("custrev.pos", "custrev.neg"),
        "SUBJ": ("subj.objective", "subj.subjective"),
        "MPQA": ("mpqa.pos", "mpqa.neg"),
    }
    for task, (first, second) in files.items():
        _write(root / task / first, _labelled(rng, POSITIVE, 30), encoding="latin-1")
        _write(root / task / second, _labelled(rng, NEGATIVE, 30), encoding="latin-1")
    for split, count in (("train", 40), ("dev", 20), ("test", 20)):
        rows = [f"{text}\t1" for text in _labelled(rng, POSITIVE, count // 2)]
        rows += [f"{text}\t0" for text in _labelled(rng, NEGATIVE, count // 2)]
        _write(root / "SST" / "binary" / f"sentiment-{split}", rows)
    for split, count in (("train_5500", 12), ("TREC_10", 4)):
        rows = [
            f"{label}:other what {text} ?"
            for label, keyword in TREC_KEYWORDS.items()
            for text in _labelled(rng, [keyword], count)
        ]
        _write(root / "TREC" / f"{split}.label", rows, encoding="latin-1")


def write_mrpc(root: Path, rng: np.random.Generator) -> None:
    """Paraphrases share their words; the other pairs share none."""
    for split, count in (("train", 60), ("test", 20)):
        rows = ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"]
        for i, (a, b, score) in enumerate(_sts_pairs(rng, 3 * count)):
            if score in (0.0, 5.0):
                rows.append(f"{int(score == 5.0)}\t{i}\t{i + 1}\t{a}\t{b}")
        _write(root / "MRPC" / f"msr_paraphrase_{split}.txt", rows)


def write_senteval(root: Path, seed: int = 0) -> Path:
    """Every task's files, tiny, under `root` (SentEval's `data/downstream`)."""
    rng = np.random.default_rng(seed)
    write_sts(root, rng)
    write_classification(root, rng)
    write_mrpc(root, rng)
    return root


@pytest.fixture(scope="session")
def senteval_dir(tmp_path_factory) -> Path:
    """A complete, tiny SentEval layout (do not modify it: tests share it)."""
    root = write_senteval(tmp_path_factory.mktemp("senteval") / "downstream")
    files = [name for task in TASKS.values() for name in task.files]
    assert all((root / name).is_file() for name in files)
    return root


@pytest.fixture
def bag_of_words() -> BagOfWords:
    return BagOfWords()


def lookup(vectors: Dict[str, Sequence[float]]):
    """An embedding function over fixed vectors, for metric tests."""
    return lambda texts: np.array([vectors[text] for text in texts], dtype=np.float32)
