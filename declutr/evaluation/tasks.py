"""SentEval's downstream tasks: which files each one needs and how to read them.

Paths are relative to SentEval's `data/downstream` directory, laid out as SentEval's
`data/downstream/get_transfer_data.bash` (https://github.com/facebookresearch/SentEval) leaves
it. The readers follow SentEval's own (`senteval/{sts,sick,binary,sst,trec,mrpc}.py`): the same
columns, header lines and encodings. SentEval splits every text into whitespace tokens and
encoders join them with single spaces, so texts here are whitespace-normalised the same way.
"""

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Sequence, Tuple, Union

import numpy as np

GET_DATA = (
    "SentEval's data/downstream/get_transfer_data.bash "
    "(https://github.com/facebookresearch/SentEval) downloads every task into this layout; pass "
    "its data/downstream directory as the data directory."
)
# SentEval's subsets of each STS year (STS13 without SMT, whose licence forbids redistribution).
STS_SUBSETS: Dict[str, Tuple[str, ...]] = {
    "STS12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    "STS13": ("FNWN", "headlines", "OnWN"),
    "STS14": ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    "STS15": ("answers-forums", "answers-students", "belief", "headlines", "images"),
    "STS16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}
TREC_CLASSES = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
# How a task is scored; `declutr.evaluation.runner.score` maps each kind to its evaluator.
KINDS = ("sts_subsets", "sts_splits", "cross_validation", "classification", "pair_classification")


class UnknownTaskError(ValueError):
    """A task name that is not one of `TASKS`."""


class MissingTaskDataError(FileNotFoundError):
    """Files a task needs are not in the data directory."""


def normalize(text: str) -> str:
    """Collapse runs of whitespace and strip the ends, as SentEval's tokenising does."""
    return " ".join(text.split())


@dataclass(frozen=True)
class SentencePairs:
    """Pairs of texts with a gold similarity each (`scores`, float64, `nan` where a pair has
    no gold score)."""

    first: List[str]
    second: List[str]
    scores: np.ndarray

    def __post_init__(self) -> None:
        _check_lengths(first=self.first, second=self.second, scores=self.scores)


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with an integer class label each (`labels`, int64)."""

    texts: List[str]
    labels: np.ndarray

    def __post_init__(self) -> None:
        _check_lengths(texts=self.texts, labels=self.labels)


@dataclass(frozen=True)
class LabelledPairs:
    """Pairs of texts with an integer class label each (`labels`, int64)."""

    first: List[str]
    second: List[str]
    labels: np.ndarray

    def __post_init__(self) -> None:
        _check_lengths(first=self.first, second=self.second, labels=self.labels)


Part = Union[SentencePairs, LabelledTexts, LabelledPairs]
# A task's data: its parts by subset name (STS12-16), split name ("train", "dev", "test"), or
# "all" for the cross-validated tasks.
TaskData = Dict[str, Part]
Reader = Callable[..., Part]


def _check_lengths(**columns: Sequence) -> None:
    lengths = {name: len(column) for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"Columns of different lengths: {lengths}.")


def texts_of(data: TaskData) -> List[str]:
    """Every text of a task's data, in order, repeats included."""
    texts: List[str] = []
    for part in data.values():
        if isinstance(part, LabelledTexts):
            texts += part.texts
        else:
            texts += part.first + part.second
    return texts


@dataclass(frozen=True)
class Task:
    """One SentEval task: how it is scored (`kind`, one of `KINDS`) and its `parts`, each read
    by a reader from files given relative to the data directory."""

    name: str
    kind: str
    parts: Dict[str, Tuple[Reader, Tuple[str, ...]]]

    @property
    def files(self) -> List[str]:
        return [name for _, names in self.parts.values() for name in names]

    def read(self, data_dir: Union[str, Path]) -> TaskData:
        data_dir = Path(data_dir)
        return {
            part: reader(*(data_dir / name for name in names))
            for part, (reader, names) in self.parts.items()
        }


# Readers of SentEval's file formats.


def _rows(
    path: Path, minimum: int, header: bool = False, encoding: str = "utf-8"
) -> List[Tuple[int, List[str]]]:
    """`(line number, tab-separated fields)` of each non-blank line (after the header line if
    `header`), checking that each has at least `minimum` fields."""
    return [
        (number, _split(path, number, line, minimum))
        for number, line in enumerate(_lines(path, encoding), 1)
        if line.strip() and not (header and number == 1)
    ]


def _split(path: Path, number: int, line: str, minimum: int) -> List[str]:
    fields = line.split("\t")
    if len(fields) < minimum:
        raise ValueError(
            f"{path}, line {number}: expected at least {minimum} tab-separated fields, "
            f"found {len(fields)}."
        )
    return fields


def _lines(path: Path, encoding: str = "utf-8") -> List[str]:
    """The file's lines without their `\\n` or `\\r\\n` (no other character ends a line)."""
    with open(path, encoding=encoding, newline="") as handle:
        return [line.rstrip("\r\n") for line in handle]


def _number(path: Path, line_number: int, value: str, kind: Callable = float):
    """`value` as a float (`nan` if empty) or as an int (`kind=int`)."""
    if kind is float and not value.strip():
        return math.nan
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{path}, line {line_number}: {value!r} is not a number.") from None


def _pairs(path: Path, rows, first: int, second: int, score: int) -> SentencePairs:
    return SentencePairs(
        [normalize(fields[first]) for _, fields in rows],
        [normalize(fields[second]) for _, fields in rows],
        np.array([_number(path, n, fields[score]) for n, fields in rows], dtype=np.float64),
    )


def read_sts_subset(input_path: Path, gold_path: Path) -> SentencePairs:
    """`STS.input.<subset>.txt` (`sentence1<TAB>sentence2` a line; further fields are ignored)
    and `STS.gs.<subset>.txt` (a score a line, empty for a pair without gold)."""
    lines, gold = _lines(input_path), _lines(gold_path)
    if len(gold) != len(lines):
        raise ValueError(
            f"{input_path} has {len(lines)} lines but {gold_path} has {len(gold)}: they must "
            "match line for line."
        )
    rows = [_split(input_path, number, line, 2) for number, line in enumerate(lines, 1)]
    return SentencePairs(
        [normalize(fields[0]) for fields in rows],
        [normalize(fields[1]) for fields in rows],
        np.array([_number(gold_path, n, value) for n, value in enumerate(gold, 1)]),
    )


def read_sts_benchmark(path: Path) -> SentencePairs:
    """`sts-{train,dev,test}.csv`: tab-separated genre, file, year, id, score, sentence1,
    sentence2 (and sometimes sources, ignored); no header, no quoting."""
    return _pairs(path, _rows(path, 7), first=5, second=6, score=4)


def read_sick(path: Path) -> SentencePairs:
    """`SICK_{train,trial,test_annotated}.txt`: a header, then pair_ID, sentence_A, sentence_B,
    relatedness_score, entailment_judgment, tab-separated."""
    return _pairs(path, _rows(path, 4, header=True), first=1, second=2, score=3)


def read_sentences(path: Path) -> List[str]:
    """One text a line, read as Latin-1 as SentEval reads MR, CR, SUBJ and MPQA; blank lines are
    skipped."""
    return [normalize(line) for line in _lines(path, encoding="latin-1") if line.strip()]


def read_binary(positive: Path, negative: Path) -> LabelledTexts:
    """Texts of `positive` (label 1) then of `negative` (label 0)."""
    first, second = read_sentences(positive), read_sentences(negative)
    labels = np.array([1] * len(first) + [0] * len(second), dtype=np.int64)
    return LabelledTexts(first + second, labels)


def read_sst(path: Path) -> LabelledTexts:
    """`SST/binary/sentiment-{train,dev,test}`: `sentence<TAB>label` (0 or 1) a line."""
    rows = _rows(path, 2)
    return LabelledTexts(
        [normalize(fields[0]) for _, fields in rows],
        np.array([_number(path, n, fields[1], int) for n, fields in rows], dtype=np.int64),
    )


def read_trec(path: Path) -> LabelledTexts:
    """`TREC/{train_5500,TREC_10}.label` (Latin-1): `COARSE:fine question` a line; the label is
    the coarse class's index in `TREC_CLASSES`."""
    texts, labels = [], []
    for number, line in enumerate(_lines(path, encoding="latin-1"), 1):
        if not line.strip():
            continue
        target, _, rest = line.strip().partition(":")
        if target not in TREC_CLASSES or " " not in rest:
            raise ValueError(
                f"{path}, line {number}: expected 'CLASS:fine question' with CLASS one of "
                f"{', '.join(TREC_CLASSES)}, found {line!r}."
            )
        texts.append(normalize(rest.split(" ", 1)[1]))
        labels.append(TREC_CLASSES.index(target))
    return LabelledTexts(texts, np.array(labels, dtype=np.int64))


def read_mrpc(path: Path) -> LabelledPairs:
    """`MRPC/msr_paraphrase_{train,test}.txt`: a header, then Quality (1 for a paraphrase),
    #1 ID, #2 ID, #1 String, #2 String, tab-separated."""
    rows = _rows(path, 5, header=True)
    return LabelledPairs(
        [normalize(fields[3]) for _, fields in rows],
        [normalize(fields[4]) for _, fields in rows],
        np.array([_number(path, n, fields[0], int) for n, fields in rows], dtype=np.int64),
    )


# The tasks.


def _sts_year(year: str) -> Task:
    directory = f"STS/{year}-en-test"
    parts = {
        subset: (
            read_sts_subset,
            (f"{directory}/STS.input.{subset}.txt", f"{directory}/STS.gs.{subset}.txt"),
        )
        for subset in STS_SUBSETS[year]
    }
    return Task(year, "sts_subsets", parts)


def _splits(name: str, kind: str, reader: Reader, **files: str) -> Task:
    return Task(name, kind, {split: (reader, (path,)) for split, path in files.items()})


def _binary(name: str, positive: str, negative: str) -> Task:
    files = (f"{name}/{positive}", f"{name}/{negative}")
    return Task(name, "cross_validation", {"all": (read_binary, files)})


_STSB = "STS/STSBenchmark"
_SST = "SST/binary/sentiment"
TASKS: Dict[str, Task] = {
    task.name: task
    for task in [
        *(_sts_year(year) for year in STS_SUBSETS),
        _splits(
            "STSBenchmark",
            "sts_splits",
            read_sts_benchmark,
            dev=f"{_STSB}/sts-dev.csv",
            test=f"{_STSB}/sts-test.csv",
        ),
        _splits(
            "SICKRelatedness",
            "sts_splits",
            read_sick,
            dev="SICK/SICK_trial.txt",
            test="SICK/SICK_test_annotated.txt",
        ),
        _binary("MR", "rt-polarity.pos", "rt-polarity.neg"),
        _binary("CR", "custrev.pos", "custrev.neg"),
        # SentEval labels objective sentences 1 and subjective ones 0.
        _binary("SUBJ", "subj.objective", "subj.subjective"),
        _binary("MPQA", "mpqa.pos", "mpqa.neg"),
        _splits(
            "SST2",
            "classification",
            read_sst,
            train=f"{_SST}-train",
            dev=f"{_SST}-dev",
            test=f"{_SST}-test",
        ),
        _splits(
            "TREC",
            "classification",
            read_trec,
            train="TREC/train_5500.label",
            test="TREC/TREC_10.label",
        ),
        _splits(
            "MRPC",
            "pair_classification",
            read_mrpc,
            train="MRPC/msr_paraphrase_train.txt",
            test="MRPC/msr_paraphrase_test.txt",
        ),
    ]
}


def resolve_tasks(names: Iterable[str]) -> List[str]:
    """The canonical names of `names` (matched ignoring case), in order, without repeats.

    Raises `UnknownTaskError`, listing the valid names, if a name is not one of `TASKS` or if
    `names` is empty.
    """
    canonical = {name.lower(): name for name in TASKS}
    resolved: List[str] = []
    unknown = []
    for name in names:
        match = canonical.get(name.strip().lower())
        if match is None:
            unknown.append(name)
        elif match not in resolved:
            resolved.append(match)
    valid = ", ".join(TASKS)
    if unknown:
        raise UnknownTaskError(f"Unknown task(s) {', '.join(map(repr, unknown))}; valid: {valid}.")
    if not resolved:
        raise UnknownTaskError(f"No task given; valid: {valid}.")
    return resolved


def check_files(data_dir: Union[str, Path], names: Iterable[str]) -> None:
    """Raise `MissingTaskDataError` naming every missing file of the tasks `names`."""
    data_dir = Path(data_dir)
    missing = [
        f"  {name}: {data_dir / path}"
        for name in names
        for path in TASKS[name].files
        if not (data_dir / path).is_file()
    ]
    if missing:
        where = "" if data_dir.is_dir() else f" ({data_dir} does not exist)"
        listing = "\n".join(missing)
        raise MissingTaskDataError(
            f"Missing SentEval task files{where}; expected:\n{listing}\n{GET_DATA}"
        )


def checksums(data_dir: Union[str, Path], name: str) -> Dict[str, str]:
    """The sha256 of every file of task `name`, by its path relative to `data_dir`."""
    return {path: _sha256(Path(data_dir) / path) for path in TASKS[name].files}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
