"""Anchor and positive span sampling, the algorithmic core of DeCLUTR.

[Giorgi et al., 2021](https://aclanthology.org/2021.acl-long.72/), section 2.1: from each document
sample `num_anchors` anchor spans whose lengths follow Beta(4, 2), and for each anchor
`num_positives` positive spans whose lengths follow Beta(2, 4), placed near the anchor and never
overlapping another anchor (see `sample_spans` for the exact rule).

Everything here is a pure function of its arguments and a `numpy.random.Generator`, so it can be
property-tested without a tokenizer or a model. Spans are half-open `(start, end)` token offsets.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

Span = Tuple[int, int]

SAMPLING_STRATEGIES = (None, "adjacent", "subsuming")
# What happens to a document shorter than `2 * num_anchors * max_span_len` (see `sample_spans`).
SHORT_DOCUMENTS = ("skip", "shrink")
# Uniform anchor placements tried before `place_anchors` reserves room (see there).
MAX_PLACEMENT_TRIES = 100


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


def fitted_max_span_len(
    num_tokens: int,
    num_anchors: int,
    max_span_len: int,
    min_span_len: int,
    short_documents: str = "skip",
) -> int:
    """The longest span a document of `num_tokens` tokens is sampled with: `max_span_len`, or with
    `short_documents="shrink"` and fewer than `2 * num_anchors * max_span_len` tokens,
    `num_tokens // (2 * num_anchors)` (never below `min_span_len`).

    Raises `ValueError` if the document is too short to contribute at all: under
    `2 * num_anchors * max_span_len` tokens ("skip"), under `2 * num_anchors * min_span_len`
    ("shrink").
    """
    if num_tokens >= min_document_length(num_anchors, max_span_len):
        return max_span_len
    if short_documents == "shrink" and num_tokens >= min_document_length(num_anchors, min_span_len):
        return num_tokens // (2 * num_anchors)
    span = "min_span_len" if short_documents == "shrink" else "max_span_len"
    needed = min_document_length(
        num_anchors, min_span_len if span == "min_span_len" else max_span_len
    )
    raise ValueError(
        f"A document of {num_tokens} tokens is too short: sampling needs at least {needed} "
        f'(2 * num_anchors * {span}, with short_documents="{short_documents}").'
    )


def validate_sampling_args(
    num_anchors: int,
    num_positives: int,
    max_span_len: int,
    min_span_len: int,
    sampling_strategy: Optional[str],
    short_documents: str = "skip",
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
    if short_documents not in SHORT_DOCUMENTS:
        raise ValueError(
            f"short_documents must be one of {SHORT_DOCUMENTS}, got {short_documents!r}."
        )


def sample_span_length(
    rng: np.random.Generator, alpha: float, beta: float, min_span_len: int, max_span_len: int
) -> int:
    """floor(Beta(alpha, beta) * (max - min) + min): a length in [min_span_len, max_span_len]."""
    return int(np.floor(rng.beta(alpha, beta) * (max_span_len - min_span_len) + min_span_len))


def sample_positive_length(
    rng: np.random.Generator,
    anchor_len: int,
    min_span_len: int,
    max_span_len: int,
    sampling_strategy: Optional[str],
) -> int:
    """A positive's length, Beta(2, 4) over [min_span_len, max_span_len], or, for "subsuming",
    over [min_span_len, anchor_len] (drawn in that range, never cut to it)."""
    longest = anchor_len if sampling_strategy == "subsuming" else max_span_len
    return sample_span_length(rng, 2.0, 4.0, min_span_len, longest)


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


def neighbour_bounds(anchors: Sequence[Span], num_tokens: int) -> List[Span]:
    """For each anchor, `(lo, hi)`: the end of the closest anchor before it (or 0) and the start
    of the closest anchor after it (or `num_tokens`). Its positives must lie in `[lo, hi)`."""
    ordered = sorted(anchors)
    ends_before = {span: previous[1] for previous, span in zip(ordered, ordered[1:])}
    starts_after = {span: following[0] for span, following in zip(ordered, ordered[1:])}
    return [(ends_before.get(span, 0), starts_after.get(span, num_tokens)) for span in anchors]


def positive_start_range(
    anchor: Span, bounds: Span, positive_len: int, sampling_strategy: Optional[str]
) -> Sequence[int]:
    """Every start a positive of `positive_len` tokens may take relative to `anchor`, inside
    `bounds` (the anchor's `neighbour_bounds`): so it never shares a token with another anchor."""
    anchor_start, anchor_end = anchor
    lo, hi = bounds
    if sampling_strategy == "subsuming":
        return range(anchor_start, anchor_end - positive_len + 1)
    if sampling_strategy == "adjacent":
        candidates = [anchor_start - positive_len, anchor_end]
        return [start for start in candidates if lo <= start <= hi - positive_len]
    # Default: adjacent to, overlapping, or subsumed by the anchor.
    return range(max(lo, anchor_start - positive_len), min(anchor_end, hi - positive_len) + 1)


def _room_needed(anchor_len: int, positive_len: int, sampling_strategy: Optional[str]) -> int:
    """Free tokens after an anchor that guarantee a start for a positive of `positive_len`."""
    if sampling_strategy == "subsuming":
        return 0
    if sampling_strategy == "adjacent":
        return positive_len
    return max(0, positive_len - anchor_len)


def place_anchors(
    rng: np.random.Generator,
    anchor_lengths: Sequence[int],
    longest_positives: Sequence[int],
    num_tokens: int,
    sampling_strategy: Optional[str],
) -> List[Span]:
    """Place anchors without overlap so that each anchor's longest positive has a start.

    Placements are drawn uniformly (`sample_disjoint_spans`) until every anchor's positives fit
    between its neighbours (`positive_start_range` is not empty): the result is uniform over all
    such placements, and every one of them can occur. Nearly always the first draw or the next
    few fit; after `MAX_PLACEMENT_TRIES` failures (long positives beside short anchors that are
    crowded together) the room each anchor needs is reserved right after it and the remaining
    free tokens are spread uniformly, which always fits in `2 * num_anchors * max_span_len`.
    """
    for _ in range(MAX_PLACEMENT_TRIES):
        anchors = sample_disjoint_spans(rng, anchor_lengths, num_tokens)
        bounds = neighbour_bounds(anchors, num_tokens)
        if all(
            positive_start_range(anchor, bound, longest, sampling_strategy)
            for anchor, bound, longest in zip(anchors, bounds, longest_positives)
        ):
            return anchors
    return place_anchors_with_room(
        rng, anchor_lengths, longest_positives, num_tokens, sampling_strategy
    )


def place_anchors_with_room(
    rng: np.random.Generator,
    anchor_lengths: Sequence[int],
    longest_positives: Sequence[int],
    num_tokens: int,
    sampling_strategy: Optional[str],
) -> List[Span]:
    """`place_anchors`' fallback: each anchor is placed as a block with the room its longest
    positive needs reserved after it, blocks placed without overlap."""
    blocks = sample_disjoint_spans(
        rng,
        [
            length + _room_needed(length, longest, sampling_strategy)
            for length, longest in zip(anchor_lengths, longest_positives)
        ],
        num_tokens,
    )
    return [(start, start + length) for (start, _), length in zip(blocks, anchor_lengths)]


def sample_spans(
    num_tokens: int,
    rng: np.random.Generator,
    num_anchors: int,
    num_positives: int,
    max_span_len: int,
    min_span_len: int,
    sampling_strategy: Optional[str] = None,
    short_documents: str = "skip",
) -> SampledSpans:
    """Sample anchor and positive spans from a document of `num_tokens` tokens.

    Lengths come first and are never cut afterwards: anchors floor(Beta(4, 2)) and positives
    floor(Beta(2, 4)) scaled to [min_span_len, max_span_len] (`sample_span_length`; a length of
    exactly `max_span_len` needs a Beta draw of exactly 1). Then anchors are placed without
    overlap, uniformly among the placements where every positive fits (`place_anchors`), and each
    positive's start is drawn uniformly from every start its strategy allows
    (`positive_start_range`). Whatever the strategy, a positive lies between the anchors next to
    its own (it may touch them): no positive shares a token with another anchor of its document,
    which is a negative in the loss. (The original DeCLUTR gets the same guarantee by keeping a
    window of `max_span_len` tokens free between anchors; here anchors may be closer, as long as
    their positives fit.) Positives of different anchors may overlap each other.

    # Parameters

    num_tokens : `int`
        Length of the tokenized document; at least `2 * num_anchors * max_span_len`, or with
        `short_documents="shrink"` at least `2 * num_anchors * min_span_len`.
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
        uniformly from every start that keeps it touching or inside its anchor and clear of the
        other anchors. `"subsuming"`: inside its anchor, its length drawn from Beta(2, 4) scaled
        to [min_span_len, anchor length]. `"adjacent"`: immediately before or after its anchor,
        on a side with room for it.
    short_documents : `str`, optional (default=`"skip"`)
        `"skip"`: a document under `2 * num_anchors * max_span_len` tokens raises `ValueError`.
        `"shrink"`: it is sampled as if `max_span_len` were `num_tokens // (2 * num_anchors)`
        (`fitted_max_span_len`), down to `min_span_len`; shorter still raises.
    """
    validate_sampling_args(
        num_anchors, num_positives, max_span_len, min_span_len, sampling_strategy, short_documents
    )
    max_span_len = fitted_max_span_len(
        num_tokens, num_anchors, max_span_len, min_span_len, short_documents
    )
    anchor_lengths = [
        sample_span_length(rng, 4.0, 2.0, min_span_len, max_span_len) for _ in range(num_anchors)
    ]
    positive_lengths = [
        [
            sample_positive_length(rng, anchor_len, min_span_len, max_span_len, sampling_strategy)
            for _ in range(num_positives)
        ]
        for anchor_len in anchor_lengths
    ]
    longest = [max(lengths) for lengths in positive_lengths]
    anchors = place_anchors(rng, anchor_lengths, longest, num_tokens, sampling_strategy)
    positives: List[Span] = []
    for anchor, bounds, lengths in zip(
        anchors, neighbour_bounds(anchors, num_tokens), positive_lengths
    ):
        for length in lengths:
            starts = positive_start_range(anchor, bounds, length, sampling_strategy)
            start = int(starts[rng.integers(len(starts))])
            positives.append((start, start + length))
    return SampledSpans(anchors=anchors, positives=positives)
