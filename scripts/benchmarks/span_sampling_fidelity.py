"""Span sampling fidelity: how often a positive shares a token with another anchor of its
document, and how often a "subsuming" positive is as long as its anchor, over many seeded draws.
Only `declutr.data.span_sampling.sample_spans` is used, so the same script measures any version
of the sampler (point PYTHONPATH at another checkout).

    python -m scripts.benchmarks.span_sampling_fidelity --draws 2000
"""

import json
from typing import Annotated, Dict, List, Tuple

import numpy as np
import typer

from declutr.data.span_sampling import sample_spans

# (num_tokens, num_anchors, num_positives, max_span_len, min_span_len): the case (spans
# of 8-64 tokens, 2 anchors, 1 positive) from the minimum length up, and the paper's settings.
SETTINGS: List[Tuple[int, int, int, int, int]] = [
    (256, 2, 1, 64, 8),
    (280, 2, 1, 64, 8),
    (512, 2, 1, 64, 8),
    (2048, 2, 1, 512, 32),
    (4096, 2, 1, 512, 32),
]


def overlapping_positives(setting: Tuple[int, ...], draws: int, seed: int) -> Dict[str, int]:
    """Positives that share a token with an anchor other than their own, with the default
    strategy."""
    num_tokens, num_anchors, num_positives, max_len, min_len = setting
    rng = np.random.default_rng(seed)
    overlaps = total = 0
    for _ in range(draws):
        spans = sample_spans(num_tokens, rng, num_anchors, num_positives, max_len, min_len)
        for index, (start, end) in enumerate(spans.positives):
            own = index // num_positives
            total += 1
            overlaps += any(
                other != own and start < other_end and other_start < end
                for other, (other_start, other_end) in enumerate(spans.anchors)
            )
    return {"overlapping": overlaps, "positives": total}


def subsuming_at_anchor_length(draws: int, seed: int) -> Dict[str, int]:
    """ "subsuming" positives as long as their anchor (anchors longer than min_span_len)."""
    rng = np.random.default_rng(seed)
    at_length = total = 0
    for _ in range(draws):
        spans = sample_spans(256, rng, 2, 2, 64, 8, sampling_strategy="subsuming")
        for index, (start, end) in enumerate(spans.positives):
            anchor_start, anchor_end = spans.anchors[index // 2]
            if anchor_end - anchor_start > 8:
                total += 1
                at_length += end - start == anchor_end - anchor_start
    return {"at_anchor_length": at_length, "positives": total}


def main(
    draws: Annotated[int, typer.Option(help="Documents sampled per setting.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of every setting's generator.")] = 0,
) -> None:
    rows = []
    for setting in SETTINGS:
        counts = overlapping_positives(setting, draws, seed)
        rows.append({"setting": setting, **counts})
        share = counts["overlapping"] / counts["positives"]
        print(f"tokens, anchors, positives, max, min = {setting}: {counts} ({share:.2%})")
    subsuming = subsuming_at_anchor_length(draws, seed)
    share = subsuming["at_anchor_length"] / subsuming["positives"]
    print(f'"subsuming" positives as long as their anchor: {subsuming} ({share:.2%})')
    print(json.dumps({"draws": draws, "seed": seed, "overlap": rows, "subsuming": subsuming}))


if __name__ == "__main__":
    typer.run(main)
