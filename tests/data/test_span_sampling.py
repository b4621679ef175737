"""Property and statistical tests of the pure span sampler."""

import itertools
import re
from collections import Counter
from typing import List, Optional

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from declutr.data.span_sampling import (
    SAMPLING_STRATEGIES,
    SampledSpans,
    Span,
    min_document_length,
    sample_disjoint_spans,
    sample_span_length,
    sample_spans,
)

HYPOTHESIS = settings(max_examples=150, deadline=None)


@st.composite
def sampling_args(draw):
    """Valid arguments of `sample_spans`, with a document at least as long as it needs."""
    min_span_len = draw(st.integers(1, 30))
    max_span_len = draw(st.integers(min_span_len, 60))
    num_anchors = draw(st.integers(1, 4))
    extra_tokens = draw(st.one_of(st.just(0), st.integers(0, 300)))
    return dict(
        num_tokens=2 * num_anchors * max_span_len + extra_tokens,
        num_anchors=num_anchors,
        num_positives=draw(st.integers(1, 4)),
        max_span_len=max_span_len,
        min_span_len=min_span_len,
        sampling_strategy=draw(st.sampled_from(SAMPLING_STRATEGIES)),
    )


def draw_spans(args: dict, seed: int) -> SampledSpans:
    return sample_spans(rng=np.random.default_rng(seed), **args)


def positives_of(spans: SampledSpans, anchor_index: int, num_positives: int) -> List[Span]:
    return spans.positives[anchor_index * num_positives : (anchor_index + 1) * num_positives]


def expected_floored_beta_length(alpha: float, beta: float, min_len: int, max_len: int) -> float:
    """E[floor(Beta(alpha, beta) * (max - min) + min)], exactly: min + sum_j P(B * range >= j)."""
    length_range = max_len - min_len
    return min_len + sum(
        stats.beta.sf(j / length_range, alpha, beta) for j in range(1, length_range + 1)
    )


@HYPOTHESIS
@given(args=sampling_args(), seed=st.integers(0, 2**32 - 1))
def test_sample_spans_returns_the_requested_number_of_spans(args, seed):
    # Given valid sampling arguments
    # When spans are sampled
    spans = draw_spans(args, seed)
    # Then there are num_anchors anchors and num_positives positives per anchor
    assert len(spans.anchors) == args["num_anchors"]
    assert len(spans.positives) == args["num_anchors"] * args["num_positives"]


@HYPOTHESIS
@given(args=sampling_args(), seed=st.integers(0, 2**32 - 1))
def test_anchors_lie_in_the_document_have_allowed_lengths_and_are_disjoint(args, seed):
    # Given valid sampling arguments
    # When spans are sampled
    anchors = draw_spans(args, seed).anchors
    # Then every anchor is inside the document, with a length in [min_span_len, max_span_len]
    for start, end in anchors:
        assert 0 <= start < end <= args["num_tokens"]
        assert args["min_span_len"] <= end - start <= args["max_span_len"]
    # And no two anchors share a token
    ordered = sorted(anchors)
    for (_, previous_end), (next_start, _) in zip(ordered, ordered[1:]):
        assert previous_end <= next_start


@HYPOTHESIS
@given(args=sampling_args(), seed=st.integers(0, 2**32 - 1))
def test_positives_lie_in_the_document_with_the_documented_lengths(args, seed):
    # Given valid sampling arguments
    num_tokens, strategy = args["num_tokens"], args["sampling_strategy"]
    # When spans are sampled
    spans = draw_spans(args, seed)
    # Then every positive is inside the document
    for anchor_index, (anchor_start, anchor_end) in enumerate(spans.anchors):
        # A sampled length in [min, max] is only ever cut to the room beside the anchor, and only
        # by "adjacent" with a single anchor; every other positive keeps [min, max] exactly.
        room = num_tokens
        if strategy == "adjacent":
            room = max(anchor_start, num_tokens - anchor_end)
            if args["num_anchors"] > 1:
                assert room >= args["max_span_len"]
        shortest = min(args["min_span_len"], room)
        longest = min(args["max_span_len"], room)
        for start, end in positives_of(spans, anchor_index, args["num_positives"]):
            assert 0 <= start < end <= num_tokens
            assert shortest <= end - start <= longest


@HYPOTHESIS
@given(args=sampling_args(), seed=st.integers(0, 2**32 - 1))
def test_positives_keep_their_strategys_relation_to_their_anchor(args, seed):
    # Given valid sampling arguments
    strategy = args["sampling_strategy"]
    # When spans are sampled
    spans = draw_spans(args, seed)
    # Then each positive relates to its own anchor as its strategy says
    for anchor_index, (anchor_start, anchor_end) in enumerate(spans.anchors):
        for start, end in positives_of(spans, anchor_index, args["num_positives"]):
            if strategy is None:  # touching, overlapping or inside
                assert anchor_start - (end - start) <= start <= anchor_end
            elif strategy == "subsuming":
                assert anchor_start <= start and end <= anchor_end
            else:  # adjacent: immediately before or immediately after
                assert end == anchor_start or start == anchor_end


def test_adjacent_single_anchor_shortens_positives_to_the_room_beside_the_anchor():
    # Given one anchor in a minimum-length document, where the anchor can leave less than
    # min_span_len tokens on either side of it
    args = dict(num_anchors=1, num_positives=4, max_span_len=10, min_span_len=8)
    num_tokens = min_document_length(1, 10)
    shortened = 0
    for seed in range(300):
        # When adjacent positives are sampled
        spans = sample_spans(
            num_tokens, np.random.default_rng(seed), sampling_strategy="adjacent", **args
        )
        ((anchor_start, anchor_end),) = spans.anchors
        room = max(anchor_start, num_tokens - anchor_end)
        for start, end in spans.positives:
            # Then a positive is cut to exactly the room there is when that is below 8 tokens
            if room < 8:
                assert end - start == room
            else:
                assert 8 <= end - start <= min(10, room)
            shortened += end - start < 8
    # And the shortening does happen (the bound above is not vacuous)
    assert shortened > 0


def test_same_seed_gives_same_spans_and_other_seeds_differ():
    # Given fixed sampling arguments
    args = dict(num_tokens=500, num_anchors=2, num_positives=3, max_span_len=50, min_span_len=5)
    for strategy in SAMPLING_STRATEGIES:
        # When sampling twice with the same seed
        first = draw_spans({**args, "sampling_strategy": strategy}, 1234)
        second = draw_spans({**args, "sampling_strategy": strategy}, 1234)
        # Then the spans are identical
        assert first == second
        # And other seeds give other spans
        others = [draw_spans({**args, "sampling_strategy": strategy}, s) for s in range(10)]
        assert any(other != first for other in others)


def test_span_lengths_follow_beta_4_2_for_anchors_and_beta_2_4_for_positives():
    # Given many draws with a fixed seed and no shortening (default strategy)
    rng = np.random.default_rng(0)
    min_len, max_len = 10, 30
    anchor_lengths, positive_lengths = [], []
    for _ in range(4000):
        spans = sample_spans(
            min_document_length(4, max_len), rng, 4, 4, max_len, min_len, sampling_strategy=None
        )
        anchor_lengths += [end - start for start, end in spans.anchors]
        positive_lengths += [end - start for start, end in spans.positives]
    # When their mean lengths are compared with floor(Beta * (max - min) + min)
    anchor_mean = expected_floored_beta_length(4, 2, min_len, max_len)
    positive_mean = expected_floored_beta_length(2, 4, min_len, max_len)
    # Then they match to a few standard errors (about 0.03 and 0.015), much less than both the
    # swap of the two Betas (6.7 tokens) and rounding instead of flooring (0.5 tokens)
    assert np.mean(anchor_lengths) == pytest.approx(anchor_mean, abs=0.12)
    assert np.mean(positive_lengths) == pytest.approx(positive_mean, abs=0.06)
    assert anchor_mean == pytest.approx(min_len + (max_len - min_len) * 2 / 3 - 0.5, abs=0.1)
    assert positive_mean == pytest.approx(min_len + (max_len - min_len) / 3 - 0.5, abs=0.1)


@pytest.mark.parametrize("alpha, beta", [(4.0, 2.0), (2.0, 4.0)])
def test_sample_span_length_floors_into_min_to_max(alpha, beta):
    # Given a seeded generator
    rng = np.random.default_rng(3)
    # When many lengths are drawn
    lengths = [sample_span_length(rng, alpha, beta, 3, 9) for _ in range(3000)]
    # Then they run from min to max - 1: flooring reaches max only if Beta draws exactly 1
    assert min(lengths) == 3 and max(lengths) == 8


def test_default_positive_start_is_uniform_over_its_allowed_range():
    # Given fixed-length spans (min == max) in a long document, so that away from the document
    # edges every positive has the same 2 * length + 1 allowed starts around its anchor
    length, num_tokens = 5, 100
    rng = np.random.default_rng(7)
    offsets: Counter = Counter()
    for _ in range(4000):
        spans = sample_spans(num_tokens, rng, 1, 4, length, length, sampling_strategy=None)
        ((anchor_start, anchor_end),) = spans.anchors
        if anchor_start < length or anchor_end > num_tokens - length:
            continue
        # When each positive's start is measured from its earliest allowed start
        offsets.update(start - (anchor_start - length) for start, _ in spans.positives)
    # Then every allowed start occurs, the extremes included, and no other
    assert sorted(offsets) == list(range(2 * length + 1))
    # And their frequencies are consistent with a uniform distribution
    observed = [offsets[offset] for offset in range(2 * length + 1)]
    assert stats.chisquare(observed).pvalue > 0.001


def test_sample_disjoint_spans_puts_both_orders_in_play():
    # Given two one-token spans that fill a two-token document
    rng = np.random.default_rng(0)
    # When they are placed many times
    placements = {tuple(sample_disjoint_spans(rng, [1, 1], 2)) for _ in range(200)}
    # Then both orders occur, and nothing else
    assert placements == {((0, 1), (1, 2)), ((1, 2), (0, 1))}


def test_sample_disjoint_spans_makes_every_placement_equally_likely():
    # Given spans of lengths 2 and 1 in 5 tokens, and every non-overlapping placement of them
    lengths, num_tokens = [2, 1], 5
    placements = [
        ((a, a + 2), (b, b + 1))
        for a, b in itertools.product(range(num_tokens - 1), range(num_tokens))
        if a + 2 <= b or b + 1 <= a
    ]
    rng = np.random.default_rng(11)
    # When they are placed many times
    counts = Counter(tuple(sample_disjoint_spans(rng, lengths, num_tokens)) for _ in range(6000))
    # Then only those placements occur, all of them, with uniform frequencies
    assert set(counts) == set(placements)
    assert stats.chisquare([counts[p] for p in placements]).pvalue > 0.001


@HYPOTHESIS
@given(
    lengths=st.lists(st.integers(1, 20), min_size=1, max_size=5),
    free=st.integers(0, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_sample_disjoint_spans_keeps_lengths_and_order_without_overlap(lengths, free, seed):
    # Given spans that fit with `free` tokens to spare
    num_tokens = sum(lengths) + free
    # When they are placed
    spans = sample_disjoint_spans(np.random.default_rng(seed), lengths, num_tokens)
    # Then each keeps its length, in the order given, inside the document, without overlap
    assert [end - start for start, end in spans] == lengths
    assert all(0 <= start and end <= num_tokens for start, end in spans)
    ordered = sorted(spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(ordered, ordered[1:]))


def test_sample_disjoint_spans_rejects_spans_that_do_not_fit():
    # Given spans longer in total than the document
    # When / Then placing them fails, naming both sizes
    with pytest.raises(ValueError, match="total length 7 do not fit in 6 tokens"):
        sample_disjoint_spans(np.random.default_rng(0), [3, 4], 6)


def test_min_document_length_is_two_max_spans_per_anchor():
    # Given / When / Then
    assert min_document_length(3, 10) == 60


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(num_anchors=0), "num_anchors must be at least 1, got 0"),
        (dict(num_positives=0), "num_positives must be at least 1, got 0"),
        (dict(min_span_len=0), "min_span_len must be at least 1, got 0"),
        (
            dict(max_span_len=4, min_span_len=5),
            re.escape("max_span_len (4) must be at least min_span_len (5)"),
        ),
        (dict(sampling_strategy="overlapping"), "sampling_strategy must be one of .*'overlapping'"),
        (
            dict(num_tokens=39),
            "A document of 39 tokens is too short: sampling needs at least 40",
        ),
    ],
)
def test_sample_spans_rejects_invalid_arguments(overrides: dict, message: str):
    # Given otherwise valid arguments (2 anchors of up to 10 tokens need 40 tokens)
    args: dict = dict(
        num_tokens=40, num_anchors=2, num_positives=2, max_span_len=10, min_span_len=2
    )
    overrides = dict(overrides)
    strategy: Optional[str] = overrides.pop("sampling_strategy", None)
    args.update(overrides)
    # When / Then sampling fails with a message naming the bad argument
    with pytest.raises(ValueError, match=message):
        sample_spans(rng=np.random.default_rng(0), sampling_strategy=strategy, **args)
