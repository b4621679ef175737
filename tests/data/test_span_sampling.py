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

from declutr.data import span_sampling
from declutr.data.span_sampling import (
    SAMPLING_STRATEGIES,
    SampledSpans,
    Span,
    fitted_max_span_len,
    min_document_length,
    neighbour_bounds,
    place_anchors_with_room,
    positive_start_range,
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
    # When spans are sampled
    spans = draw_spans(args, seed)
    # Then every positive is inside the document, its length never cut: in [min, max], or for
    # "subsuming" in [min, its anchor's length]
    for anchor_index, (anchor_start, anchor_end) in enumerate(spans.anchors):
        longest = args["max_span_len"]
        if args["sampling_strategy"] == "subsuming":
            longest = anchor_end - anchor_start
        for start, end in positives_of(spans, anchor_index, args["num_positives"]):
            assert 0 <= start < end <= args["num_tokens"]
            assert args["min_span_len"] <= end - start <= longest


@HYPOTHESIS
@given(args=sampling_args(), seed=st.integers(0, 2**32 - 1))
def test_no_positive_shares_a_token_with_another_anchor(args, seed):
    # Given valid sampling arguments, the minimum document length among them
    # When spans are sampled
    spans = draw_spans(args, seed)
    # Then no positive overlaps an anchor other than its own (it may touch one)
    for anchor_index in range(args["num_anchors"]):
        for start, end in positives_of(spans, anchor_index, args["num_positives"]):
            for other_index, (other_start, other_end) in enumerate(spans.anchors):
                if other_index != anchor_index:
                    assert end <= other_start or other_end <= start


@pytest.mark.parametrize("strategy", SAMPLING_STRATEGIES)
@pytest.mark.parametrize("num_tokens", [256, 280, 512])
def test_no_positive_overlaps_another_anchor_over_many_draws(strategy, num_tokens):
    # Given 2 anchors with 1 positive each, spans of 8-64 tokens and documents from the minimum
    # length (256) up; before anchors were placed with their positives in mind, about 5% of
    # positives overlapped the other anchor at 280 tokens
    rng = np.random.default_rng(0)
    overlaps = 0
    for _ in range(2000):
        # When spans are sampled
        spans = sample_spans(num_tokens, rng, 2, 1, 64, 8, sampling_strategy=strategy)
        # Then no positive shares a token with the other anchor
        for (start, end), (other_start, other_end) in zip(spans.positives, spans.anchors[::-1]):
            overlaps += not (end <= other_start or other_end <= start)
    assert overlaps == 0


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


def test_adjacent_positives_are_never_shortened_even_with_one_anchor_at_the_minimum():
    # Given one anchor in a minimum-length document, where an anchor in the middle would leave
    # less than max_span_len tokens on either side of it
    args = dict(num_anchors=1, num_positives=4, max_span_len=10, min_span_len=8)
    num_tokens = min_document_length(1, 10)
    sides = Counter()
    for seed in range(300):
        # When adjacent positives are sampled
        spans = sample_spans(
            num_tokens, np.random.default_rng(seed), sampling_strategy="adjacent", **args
        )
        ((anchor_start, anchor_end),) = spans.anchors
        for start, end in spans.positives:
            # Then each keeps its drawn length in [8, 10] and sits right before or after
            assert 8 <= end - start <= 10
            sides[("before" if end == anchor_start else "after")] += 1
    # And both sides occur
    assert sides["before"] > 0 and sides["after"] > 0


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


def floored_beta_cdf(length, alpha, beta, low, high) -> np.ndarray:
    """P(floor(Beta(alpha, beta) * (high - low) + low) <= length), elementwise."""
    length, low, high = (np.asarray(x, dtype=float) for x in (length, low, high))
    fraction = np.clip((length - low + 1) / np.maximum(high - low, 1), 0.0, 1.0)
    return np.where(
        high == low, (length >= low).astype(float), stats.beta.cdf(fraction, alpha, beta)
    )


def randomized_pit(samples, rng: np.random.Generator) -> np.ndarray:
    """Randomized probability integral transform of discrete draws `(length, alpha, beta, low,
    high)`: exactly Uniform(0, 1) if each length is floor(Beta(alpha, beta) * (high - low) +
    low), so a KS test against the uniform checks the whole shape, not only the mean."""
    length, alpha, beta, low, high = np.array(samples, dtype=float).T
    below = floored_beta_cdf(length - 1, alpha, beta, low, high)
    upto = floored_beta_cdf(length, alpha, beta, low, high)
    return below + rng.uniform(size=len(samples)) * (upto - below)


def sampled_lengths(strategy: Optional[str], num_draws: int):
    """(anchor, positive) length samples at the minimum document length, with each one's Beta
    and range: anchors Beta(4, 2) over [min, max]; positives Beta(2, 4) over [min, max], or over
    [min, anchor length] for "subsuming"."""
    rng = np.random.default_rng(1)
    min_len, max_len, num_anchors = 8, 64, 2
    anchors, positives = [], []
    for _ in range(num_draws):
        spans = sample_spans(
            min_document_length(num_anchors, max_len),
            rng,
            num_anchors,
            2,
            max_len,
            min_len,
            sampling_strategy=strategy,
        )
        for index, (start, end) in enumerate(spans.anchors):
            anchors.append((end - start, 4.0, 2.0, min_len, max_len))
            longest = end - start if strategy == "subsuming" else max_len
            for p_start, p_end in positives_of(spans, index, 2):
                positives.append((p_end - p_start, 2.0, 4.0, min_len, longest))
    return anchors, positives


@pytest.mark.parametrize("strategy", SAMPLING_STRATEGIES)
def test_span_lengths_keep_their_beta_shapes(strategy):
    # Given 4,000 anchors and 8,000 positives drawn with a fixed seed at the minimum length
    anchors, positives = sampled_lengths(strategy, 2000)
    pit_rng = np.random.default_rng(2)
    # When their randomized PITs under the documented Betas are compared with the uniform
    # Then the KS test finds no difference: anchors Beta(4, 2), positives Beta(2, 4) (for
    # "subsuming" over [min, anchor length])
    assert stats.kstest(randomized_pit(anchors, pit_rng), "uniform").pvalue > 0.01
    assert stats.kstest(randomized_pit(positives, pit_rng), "uniform").pvalue > 0.01
    # And the test tells the two Betas apart
    swapped = [(length, 2.0, 4.0, low, high) for length, _, _, low, high in anchors]
    assert stats.kstest(randomized_pit(swapped, pit_rng), "uniform").pvalue < 1e-6


def test_subsuming_positives_do_not_pile_up_at_the_anchor_length():
    # Given "subsuming" draws whose anchors are longer than min_span_len
    _, positives = sampled_lengths("subsuming", 2000)
    positives = [sample for sample in positives if sample[4] > sample[3]]
    # When the positives as long as their anchor are counted
    at_anchor_length = sum(length == high for length, _, _, _, high in positives)
    # Then there are none, as under Beta(2, 4) scaled to [min, anchor length] (only a Beta draw
    # of exactly 1 reaches it); drawing over [min, max] and cutting put ~10% there
    assert len(positives) > 7000 and at_anchor_length == 0
    # And the top length below it holds what the scaled Beta gives it (chi-square, 1 dof)
    length, _, _, low, high = np.array(positives, dtype=float).T
    observed = int(np.sum(length == high - 1))
    expected = float(np.sum(1 - floored_beta_cdf(high - 2, 2.0, 4.0, low, high)))
    chi_square = stats.chisquare(
        [observed, len(length) - observed], [expected, len(length) - expected]
    )
    assert chi_square.pvalue > 0.01


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


def allowed_draws(num_tokens: int, length: int, strategy: Optional[str]):
    """Every (anchors, positives) of 2 anchors and 1 positive each, all spans `length` long,
    that the rule allows, with its probability: placements of the anchors uniform among those
    where both positives fit between their neighbours, then each start uniform."""
    placements = []
    for a, b in itertools.product(range(num_tokens - length + 1), repeat=2):
        anchors = [(a, a + length), (b, b + length)]
        if a + length <= b or b + length <= a:
            bounds = neighbour_bounds(anchors, num_tokens)
            ranges = [positive_start_range(x, y, length, strategy) for x, y in zip(anchors, bounds)]
            if all(ranges):
                placements.append((anchors, ranges))
    draws = {}
    for anchors, ranges in placements:
        for starts in itertools.product(*ranges):
            positives = tuple((start, start + length) for start in starts)
            draws[(tuple(anchors), positives)] = (
                1 / len(placements) / np.prod([len(r) for r in ranges])
            )
    return draws


@pytest.mark.parametrize("strategy", SAMPLING_STRATEGIES)
def test_every_allowed_placement_occurs_with_its_probability(strategy):
    # Given 2 anchors with 1 positive each, all 2 tokens long, in an 8-token document, and every
    # placement the rule allows ("adjacent" excludes anchors that leave no room beside them)
    num_tokens, length = 8, 2
    expected = allowed_draws(num_tokens, length, strategy)
    rng = np.random.default_rng(5)
    # When spans are sampled many times
    counts = Counter()
    for _ in range(30 * len(expected)):
        spans = sample_spans(num_tokens, rng, 2, 1, length, length, sampling_strategy=strategy)
        counts[(tuple(spans.anchors), tuple(spans.positives))] += 1
    # Then exactly the allowed placements occur, all of them, with their probabilities
    assert set(counts) == set(expected)
    total = sum(counts.values())
    keys = sorted(expected)
    observed = [counts[key] for key in keys]
    assert stats.chisquare(observed, [expected[key] * total for key in keys]).pvalue > 0.001


@HYPOTHESIS
@given(args=sampling_args(), seed=st.integers(0, 2**32 - 1))
def test_reserved_room_placement_always_fits_every_positive(args, seed):
    # Given lengths drawn as sample_spans draws them, the longest positives possible
    rng = np.random.default_rng(seed)
    strategy = args["sampling_strategy"]
    lengths = [
        sample_span_length(rng, 4.0, 2.0, args["min_span_len"], args["max_span_len"])
        for _ in range(args["num_anchors"])
    ]
    longest = [length if strategy == "subsuming" else args["max_span_len"] for length in lengths]
    # When the fallback places the anchors (what place_anchors does after its uniform tries)
    anchors = place_anchors_with_room(rng, lengths, longest, args["num_tokens"], strategy)
    # Then the anchors keep their lengths, do not overlap, and every positive has a start
    assert [end - start for start, end in anchors] == lengths
    ordered = sorted(anchors)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(ordered, ordered[1:]))
    bounds = neighbour_bounds(anchors, args["num_tokens"])
    assert all(
        positive_start_range(anchor, bound, most, strategy)
        for anchor, bound, most in zip(anchors, bounds, longest)
    )


def test_place_anchors_falls_back_to_reserved_room(monkeypatch):
    # Given no uniform tries at all, and an "adjacent" positive as long as the longest span
    monkeypatch.setattr(span_sampling, "MAX_PLACEMENT_TRIES", 0)
    # When spans are sampled
    spans = sample_spans(40, np.random.default_rng(0), 2, 1, 10, 10, sampling_strategy="adjacent")
    # Then each anchor has its 10 tokens of room reserved after it (the document is full)
    assert sorted(spans.anchors) == [(0, 10), (20, 30)]
    # And the positives fit beside their anchors, clear of the other anchor
    for (start, end), (anchor_start, anchor_end), (other_start, other_end) in zip(
        spans.positives, spans.anchors, spans.anchors[::-1]
    ):
        assert end == anchor_start or start == anchor_end
        assert end <= other_start or other_end <= start


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


def test_fitted_max_span_len_shrinks_only_when_asked_and_down_to_min_span_len():
    # Given 2 anchors of 10-50 tokens: full spans need 200 tokens, shrunk ones 40
    args = dict(num_anchors=2, max_span_len=50, min_span_len=10)
    # When / Then long documents keep max_span_len, whatever the setting
    assert (
        fitted_max_span_len(200, **args)
        == fitted_max_span_len(900, **args, short_documents="shrink")
        == 50
    )
    # And with "shrink" shorter ones get num_tokens // (2 * num_anchors), down to min_span_len
    assert fitted_max_span_len(199, **args, short_documents="shrink") == 49
    assert fitted_max_span_len(43, **args, short_documents="shrink") == 10
    # And below that, or below 200 with "skip", the document is too short, naming the minimum
    with pytest.raises(ValueError, match=re.escape("at least 40 (2 * num_anchors * min_span_len")):
        fitted_max_span_len(39, **args, short_documents="shrink")
    with pytest.raises(ValueError, match=re.escape("at least 200 (2 * num_anchors * max_span_len")):
        fitted_max_span_len(199, **args)


@HYPOTHESIS
@given(args=sampling_args(), seed=st.integers(0, 2**32 - 1), fraction=st.floats(0.0, 1.0))
def test_shrunk_documents_keep_every_guarantee(args, seed, fraction):
    # Given a document between 2 * num_anchors * min_span_len and the full minimum
    lowest = 2 * args["num_anchors"] * args["min_span_len"]
    num_tokens = lowest + int(fraction * (args["num_tokens"] - lowest))
    shrunk = dict(args, num_tokens=num_tokens, short_documents="shrink")
    longest = fitted_max_span_len(
        num_tokens, args["num_anchors"], args["max_span_len"], args["min_span_len"], "shrink"
    )
    # When spans are sampled with short_documents="shrink"
    spans = sample_spans(rng=np.random.default_rng(seed), **shrunk)
    # Then every span is inside the document, between min_span_len and the shrunk maximum
    for start, end in spans.anchors + spans.positives:
        assert 0 <= start < end <= num_tokens
        assert args["min_span_len"] <= end - start <= longest
    # And no positive overlaps another anchor
    for index in range(args["num_anchors"]):
        for start, end in positives_of(spans, index, args["num_positives"]):
            for other, (other_start, other_end) in enumerate(spans.anchors):
                assert other == index or end <= other_start or other_end <= start


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
        (dict(short_documents="truncate"), "short_documents must be one of .*'truncate'"),
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
