"""`backend="auto"` and `precision="auto"`: the fastest runtime that gives the same vectors on
this machine.

The candidates follow the CPU's instruction sets (`candidates`, a pure function), fastest first,
as `scripts/benchmarks/embedding_throughput.py` measured them (docs/performance.md):

- a CPU with bfloat16 instructions (AVX-512 BF16 or AMX): OpenVINO bfloat16, torch bfloat16,
  OpenVINO float32, ONNX Runtime float32, torch float32;
- any other CPU (AVX2 only, or flags unknown): OpenVINO float32, ONNX Runtime float32, torch
  float32 (torch would emulate bfloat16, and OpenVINO computes it in float32);
- a GPU: torch float32 (reduced precision on a GPU stays a choice you make).

A backend is a candidate only when its extra is installed. Every candidate but torch float32 is
checked on `CHECK_TEXTS` before it is taken: its smallest cosine to torch float32's vectors must
be at least `MIN_COSINE`, or the next candidate is tried. `backend=` and `precision=` still force
a choice; forcing one of the two picks the other among the candidates that have it. The
environment variables `DECLUTR_BACKEND` and `DECLUTR_PRECISION` replace the `"auto"` default (for
example `DECLUTR_BACKEND=torch` keeps a deployment on torch without a code change).
"""

import contextlib
import importlib.util
import logging
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from declutr.data.texts import leading_token_ids
from declutr.inference import batching, cpu
from declutr.inference.options import AUTO, BACKENDS, PRECISIONS
from declutr.inference.runtimes import make_runtime

logger = logging.getLogger(__name__)

# The same vectors: the smallest cosine to torch float32 a chosen runtime may give on CHECK_TEXTS.
MIN_COSINE = 0.9999
# Short and long, plain and unusual texts, on which every candidate is compared to torch float32
# (and an export to its model, `declutr.inference.export.verify_export`).
CHECK_TEXTS = (
    "",
    "A man is playing a guitar on the street.",
    "The central bank raised interest rates by a quarter of a percentage point on Tuesday, "
    "citing inflation that has stayed above its target for two years.",
    "def mean(xs): return sum(xs) / len(xs)",
    "Ünïcödé, emoji 🙂 and numbers: 3.14159, 2,718, 1e-9!",
    "the the the the the the the the the the the the the the the the",
    "Researchers sequenced the genome of the wheat pathogen and found three genes that let it "
    "escape the plant's immune response; a field trial is planned for next spring, weather "
    "permitting, in two regions where the disease cost farmers most of their harvest last year.",
    "OK.",
    " ".join(["A long text, truncated to the encoder's maximum length."] * 100),
)
ENVIRONMENT = {"backend": "DECLUTR_BACKEND", "precision": "DECLUTR_PRECISION"}
# Which Python package each optional backend needs.
_PACKAGES = {"openvino": "openvino", "onnx": "onnxruntime"}

AUTO_BACKEND = "torch"  # where no optional backend fits a forced precision (int8: openvino)
Path_ = Tuple[str, str]  # (backend, precision)


@dataclass
class RuntimeChoice:
    """What `Encoder` runs and why: its record, logged and written beside `declutr embed`'s
    output.

    # Parameters

    backend, precision : `str`
        The runtime taken.
    chosen_by : `str`
        `"auto"` (both chosen here), `"auto precision"` / `"auto backend"` (one was forced) or
        `"forced"`.
    min_cosine : `float`, optional
        Its smallest cosine to torch float32 on `CHECK_TEXTS` (`None` when not checked).
    rejected : `Dict[str, str]`
        Candidates tried before it (`"backend/precision"`) and why each was not taken.
    cpu_flags : `List[str]`
        The bfloat16 and vector instruction sets this CPU reports (the choice follows them).
    """

    backend: str
    precision: str
    chosen_by: str = "forced"
    min_cosine: Optional[float] = None
    rejected: Dict[str, str] = field(default_factory=dict)
    cpu_flags: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict:
        return asdict(self)

    def __str__(self) -> str:
        text = f"backend={self.backend!r}, precision={self.precision!r} ({self.chosen_by}"
        if self.min_cosine is not None:
            text += f"; min cosine {self.min_cosine:.6f} to torch float32"
        if self.rejected:
            text += "; not taken: " + ", ".join(f"{k} ({v})" for k, v in self.rejected.items())
        return text + ")"


def option_value(name: str, value: str) -> str:
    """`value`, or for `"auto"` the environment's `DECLUTR_BACKEND` / `DECLUTR_PRECISION` when
    set (checked against the choices)."""
    if value != AUTO:
        return value
    found = os.environ.get(ENVIRONMENT[name], "").strip().lower() or AUTO
    choices = {"backend": BACKENDS, "precision": PRECISIONS}[name]
    if found not in choices:
        raise ValueError(f"{ENVIRONMENT[name]}={found!r}: it must be one of {choices}.")
    return found


def installed_backends() -> FrozenSet[str]:
    """torch, and the optional backends whose package is importable here."""
    found = {name for name, package in _PACKAGES.items() if importlib.util.find_spec(package)}
    return frozenset({"torch", *found})


def candidates(
    device_type: str,
    bf16_instructions: Optional[bool],
    installed: FrozenSet[str],
    backend: str = AUTO,
    precision: str = AUTO,
) -> List[Path_]:
    """The runtimes to try, fastest first, for a device (`"cpu"`, `"cuda"`), whether the CPU has
    bfloat16 instructions (`None`: unknown, treated as no), the installed backends and the forced
    `backend` / `precision` (`"auto"` where free). Never empty: where nothing fits a forced
    value, the forced path itself (which `check_runtime_options` then explains)."""
    if device_type != "cpu":
        order = [("torch", "float32")]
    elif bf16_instructions:
        order = [("openvino", "bfloat16"), ("torch", "bfloat16"), ("openvino", "float32"),
                 ("onnx", "float32"), ("torch", "float32")]  # fmt: skip
    else:
        order = [("openvino", "float32"), ("onnx", "float32"), ("torch", "float32")]
    fits = [
        (name, kind)
        for name, kind in order
        if name in installed and backend in (AUTO, name) and precision in (AUTO, kind)
    ]
    if fits:
        return fits
    fallback = "openvino" if precision == "int8" else AUTO_BACKEND
    return [
        (
            fallback if backend == AUTO else backend,
            "float32" if precision == AUTO else precision,
        )
    ]


def min_cosine(vectors: np.ndarray, reference: np.ndarray) -> float:
    """The smallest row-wise cosine between two `(n, dim)` arrays (rows of zeros count as 1 when
    both are zero)."""
    dots = (vectors * reference).sum(axis=1)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    cosines = np.where(norms > 0, dots / np.maximum(norms, 1e-30), 1.0)
    return float(cosines.min())


def choose(
    paths: Sequence[Path_],
    build: Callable[[str, str], object],
    vectors_of: Callable[[object], np.ndarray],
    chosen_by: str,
    flags: Sequence[str] = (),
) -> Tuple[object, RuntimeChoice]:
    """The first of `paths` that `build(backend, precision)` makes and whose vectors of the check
    texts (`vectors_of(runtime)`) stay within `MIN_COSINE` of torch float32's, with its record.
    torch float32 is the reference and is taken unchecked; a path that fails to build is
    skipped with its error. The last path is taken even if it fails the check (it is the one
    asked for)."""
    reference: Optional[np.ndarray] = None
    rejected: Dict[str, str] = {}
    for index, (backend, precision) in enumerate(paths):
        last = index == len(paths) - 1
        try:
            runtime = build(backend, precision)
        except (ImportError, RuntimeError, ValueError) as error:
            if last:
                raise
            rejected[f"{backend}/{precision}"] = f"{type(error).__name__}: {error}"
            continue
        record = RuntimeChoice(backend, precision, chosen_by, None, rejected, list(flags))
        if (backend, precision) == ("torch", "float32") or len(paths) == 1:
            return runtime, record
        if reference is None:
            reference = vectors_of(build("torch", "float32"))
        record.min_cosine = min_cosine(vectors_of(runtime), reference)
        if record.min_cosine >= MIN_COSINE or last:
            return runtime, record
        rejected[f"{backend}/{precision}"] = f"min cosine {record.min_cosine:.6f} < {MIN_COSINE}"
    raise AssertionError("unreachable: the last path is always returned")


def choose_runtime(
    encoder: Any, backend: str, precision: str, source: Any
) -> Tuple[Any, RuntimeChoice]:
    """The runtime of a `declutr.Encoder` (its transformer, device, tokenizer and settings set) for
    `backend` and `precision`, choosing where either is `"auto"`, and its record; an automatic
    choice is logged. `source` is what the encoder was loaded from (an export's runtime files)."""
    names = ["input_ids", "attention_mask"] + ["token_type_ids"] * encoder._uses_token_type_ids

    def build(backend: str, precision: str) -> Any:
        with _forks_quietly():
            return make_runtime(
                backend, precision, encoder.transformer, encoder.device, names, source
            )

    if AUTO not in (backend, precision):
        return build(backend, precision), RuntimeChoice(backend, precision)
    paths = candidates(
        encoder.device.type, cpu.has_bf16_instructions(), installed_backends(), backend, precision
    )
    chosen_by = (
        "auto"
        if backend == precision
        else "auto " + ("backend" if backend == AUTO else "precision")
    )
    before, after = encoder._special_tokens
    leading = leading_token_ids(encoder.tokenizer, list(CHECK_TEXTS), encoder.max_length)
    _, batches = batching.sorted_batches(
        [before + ids + after for ids, _ in leading],
        encoder.batch_size,
        encoder.tokenizer.pad_token_id or 0,
        encoder._uses_token_type_ids,
    )

    def vectors_of(runtime: Any) -> np.ndarray:
        return np.concatenate(runtime.pooled(batches))

    flags = sorted((cpu.cpu_flags() or frozenset()) & cpu.REPORTED_FLAGS)
    runtime, record = choose(paths, build, vectors_of, chosen_by, flags)
    logger.info("Embedding with %s", record)
    return runtime, record


@contextlib.contextmanager
def _forks_quietly() -> Iterator[None]:
    """A runtime's conversion may fork after the tokenizer's threads have run, and the forked
    child would print Hugging Face tokenizers' fork warning: the variable that silences it is set
    while the runtime is built (the child gets it; this process's tokenizer keeps its threads)."""
    if "TOKENIZERS_PARALLELISM" in os.environ:
        yield
        return
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        yield
    finally:
        os.environ.pop("TOKENIZERS_PARALLELISM", None)
