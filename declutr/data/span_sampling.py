"""Anchor and positive span sampling, the algorithmic core of DeCLUTR.

[Giorgi et al., 2021](https://aclanthology.org/2021.acl-long.72/), section 2.1: from each document
sample `num_anchors` anchor spans whose lengths follow Beta(4, 2), and for each anchor
`num_positives` positive spans whose lengths follow Beta(2, 4), placed near the anchor.

Everything here is a pure function of its arguments and a `numpy.random.Generator`, so it can be
property-tested without a tokenizer or a model. Spans are half-open `(start, end)` token offsets.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

Span = Tuple[int, int]

SAMPLING_STRATEGIES = (None, "adjacent", "subsuming")


@dataclass(frozen=True)
class SampledSpans:
    """The spans sampled from one document.

    `positives[i * num_positives : (i + 1) * num_positives]` are the positives of `anchors[i]`.
    """

    anchors: List[Span]
    positives: List[Span]


def min_document_length(num_anchors: int, max_span_len: int) -> int:
    """The fewest tokens a document needs so that every anchor and its positives fit."""
    return 2 * num_anchors * max_span_len


def validate_sampling_args(
    num_anchors: int,
    num_positives: int,
    max_span_len: int,
    min_span_len: int,
    sampling_strategy: Optional[str],
) -> None:
    """Raise `ValueError` naming the bad argument if any sampling argument is invalid."""
    if num_anchors < 1:
        raise ValueError(f"num_anchors must be at least 1, got {num_anchors}.")
    if num_positives < 1:
        raise ValueError(f"num_positives must be at least 1, got {num_positives}.")
    if min_span_len < 1:
        raise ValueError(f"min_span_len must be at least 1, got {min_span_len}.")
    if max_span_len < min_span_len:
        raise ValueError(
            f"max_span_len ({max_span_len}) must be at least min_span_len ({min_span_len})."
        )
    if sampling_strategy not in SAMPLING_STRATEGIES:
        raise ValueError(
            f"sampling_strategy must be one of {SAMPLING_STRATEGIES}, got {sampling_strategy!r}."
        )


def sample_span_length(
    rng: np.random.Generator, alpha: float, beta: float, min_span_len: int, max_span_len: int
) -> int:
    """floor(Beta(alpha, beta) * (max - min) + min): a length in [min_span_len, max_span_len]."""
    return int(np.floor(rng.beta(alpha, beta) * (max_span_len - min_span_len) + min_span_len))


def sample_disjoint_spans(
    rng: np.random.Generator, lengths: Sequence[int], num_tokens: int
) -> List[Span]:
    """Place spans of the given lengths in `num_tokens` tokens without overlap.

    Every non-overlapping placement of the spans, in every order, is equally likely: the free
    tokens are split into `len(lengths) + 1` gaps by a uniformly random composition (stars and
    bars), and the spans are laid out between the gaps in a random order. Returned in the order
    of `lengths`.
    """
    free = num_tokens - sum(lengths)
    if free < 0:
        raise ValueError(f"Spans of total length {sum(lengths)} do not fit in {num_tokens} tokens.")
    num_spans = len(lengths)
    # Choosing num_spans "bar" positions among free + num_spans slots gives a uniform composition
    # of `free` into num_spans + 1 non-negative gaps.
    bars = np.sort(rng.choice(free + num_spans, size=num_spans, replace=False))
    gaps_before = bars - np.arange(num_spans)  # free tokens before the k-th placed span
    order = rng.permutation(num_spans)
    spans: List[Span] = [(0, 0)] * num_spans
    tokens_before = 0  # tokens taken by the spans already placed
    for k, span_index in enumerate(order):
        start = int(gaps_before[k]) + tokens_before
        spans[span_index] = (start, start + lengths[span_index])
        tokens_before += lengths[span_index]
    return spans


def max_positive_length(anchor: Span, num_tokens: int, sampling_strategy: Optional[str]) -> int:
    """The longest positive the strategy can place relative to `anchor`.

    "subsuming" positives must fit inside the anchor; "adjacent" ones in the room beside it (with
    a single anchor in a minimum-length document that room can be shorter than `max_span_len`).
    """
    anchor_start, anchor_end = anchor
    if sampling_strategy == "subsuming":
        return anchor_end - anchor_start
    if sampling_strategy == "adjacent":
        return max(anchor_start, num_tokens - anchor_end)
    return num_tokens


def positive_start_range(
    anchor: Span, positive_len: int, num_tokens: int, sampling_strategy: Optional[str]
) -> List[int]:
    """Every start a positive of `positive_len` tokens may take relative to `anchor`."""
    anchor_start, anchor_end = anchor
    last_start = num_tokens - positive_len
    if sampling_strategy == "subsuming":
        return list(range(anchor_start, anchor_end - positive_len + 1))
    if sampling_strategy == "adjacent":
        candidates = [anchor_start - positive_len, anchor_end]
        return [start for start in candidates if 0 <= start <= last_start]
    # Default: adjacent to, overlapping, or subsumed by the anchor.
    return list(range(max(0, anchor_start - positive_len), min(anchor_end, last_start) + 1))


def sample_spans(
    num_tokens: int,
    rng: np.random.Generator,
    num_anchors: int,
    num_positives: int,
    max_span_len: int,
    min_span_len: int,
    sampling_strategy: Optional[str] = None,
) -> SampledSpans:
    """Sample anchor and positive spans from a document of `num_tokens` tokens.

    # Parameters

    num_tokens : `int`
        Length of the tokenized document; at least `2 * num_anchors * max_span_len`.
    rng : `numpy.random.Generator`
        The only source of randomness.
    num_anchors : `int`
        Anchors per document. Anchors never overlap each other.
    num_positives : `int`
        Positives per anchor.
    max_span_len : `int`
        Largest span length.
    min_span_len : `int`
        Smallest span length.
    sampling_strategy : `str`, optional (default=`None`)
        `None`: a positive is adjacent to, overlaps, or is subsumed by its anchor, its start drawn
        uniformly from every start that keeps it touching or inside the anchor. `"subsuming"`:
        inside the anchor (a positive longer than its anchor is shortened to the anchor's length).
        `"adjacent"`: immediately before or after the anchor (shortened to the room beside the
        anchor if needed, which can only happen with one anchor).
    """
    validate_sampling_args(
        num_anchors, num_positives, max_span_len, min_span_len, sampling_strategy
    )
    needed = min_document_length(num_anchors, max_span_len)
    if num_tokens < needed:
        raise ValueError(
            f"A document of {num_tokens} tokens is too short: sampling needs at least {needed} "
            f"(2 * num_anchors * max_span_len)."
        )
    anchor_lengths = [
        sample_span_length(rng, 4.0, 2.0, min_span_len, max_span_len) for _ in range(num_anchors)
    ]
    anchors = sample_disjoint_spans(rng, anchor_lengths, num_tokens)
    positives: List[Span] = []
    for anchor in anchors:
        for _ in range(num_positives):
            length = sample_span_length(rng, 2.0, 4.0, min_span_len, max_span_len)
            length = min(length, max_positive_length(anchor, num_tokens, sampling_strategy))
            starts = positive_start_range(anchor, length, num_tokens, sampling_strategy)
            start = int(starts[rng.integers(len(starts))])
            positives.append((start, start + length))
    return SampledSpans(anchors=anchors, positives=positives)
