"""The comparison's rows and what each tries on dev data (`comparison.py`, docs/comparison.md):
the trained rows' grids of rates and options, the probes that informed a choice (seed 1 only,
not in the final table), and S1's base.

A row is a dict: `label`; `kind` ("untrained", "allennlp" or "peer"); `config` (allennlp, in
`training_config/`) or `method` (peer: "simcse", "tsdae"); `options`, a list of allennlp
overrides (dotted keys) to try; `rates`, a list or a dict by setting (default `RATES`); `only`,
the one setting it runs in, with `why`; `probe`, true for a probe.
"""

from typing import Dict, List

BEST = {"model.unmasked_anchors": True, "trainer.optimizer.correct_bias": True}
ADJACENT = {"dataset_reader.sampling_strategy": "adjacent"}
SHORT = {"dataset_reader.max_span_len": 128, "data_loader.batch_size": 16}
SENTENCE_SPANS = {"dataset_reader.min_span_len": 16, "dataset_reader.max_span_len": 64}
SENTENCE_SPANS |= {"data_loader.batch_size": 32}
# Rates tried per setting: S2 continues a sentence encoder, S1 a small masked LM from scratch.
# S1's grid moved down from [1e-4, 3e-4] after a dev-only start (comparison_s1_dev_start.log):
# DeCLUTR and SimCSE both scored higher on dev at 1e-4 than at 3e-4. TSDAE's decoder
# cross-attention starts from scratch, so its grid stays higher (not probed).
RATES = {
    "s2": {"allennlp": [2e-5, 5e-5], "simcse": [1e-5, 3e-5], "tsdae": [3e-5, 1e-4]},
    "s1": {"allennlp": [3e-5, 1e-4], "simcse": [3e-5, 1e-4], "tsdae": [1e-4, 3e-4]},
}
ROWS: Dict[str, Dict] = {
    "base": {"label": "base, untouched", "kind": "untrained"},
    "random": {"label": "random encoder, same shape", "kind": "untrained", "only": "s1"},
    "average": {"label": "base's averaged input embeddings", "kind": "untrained", "only": "s1"},
    # Words alone, no encoder: what lexical overlap scores (comparison_eval.TfidfWords).
    "tfidf": {"label": "TF-IDF of words (no encoder)", "kind": "untrained"},
    # The ablations train with the project's optimizer (Adam's bias correction), as declutr_best.
    "mlm": {
        "label": "masked LM only",
        "kind": "allennlp",
        "config": "mlm_only.jsonnet",
        "options": [{"trainer.optimizer.correct_bias": True}],
    },
    "declutr_paper": {
        "label": "DeCLUTR, paper (shrink)",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
    },
    "declutr_bias": {  # an ablation on dev: the paper's config with Adam's bias correction only
        "label": "DeCLUTR, paper + bias correction",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
        "options": [{"trainer.optimizer.correct_bias": True}],
        "probe": True,
    },
    "declutr_best": {
        "label": "DeCLUTR, unmasked anchors",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
        "options": [BEST],
    },
    # Probes on dev (seed 1, one rate): which span options make the project's recipe adapt.
    "declutr_adjacent": {
        "label": "DeCLUTR, unmasked anchors, adjacent positives",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
        "options": [BEST | ADJACENT],
        "rates": [2e-5, 5e-5],
        "probe": True,
    },
    "declutr_short": {
        "label": "DeCLUTR, unmasked anchors, spans <= 128, 16 documents a batch",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
        "options": [BEST | SHORT],
        "rates": {"s2": [5e-5], "s1": [1e-4]},
        "probe": True,
    },
    # Spans of a sentence's length. An S1 probe first (1e-4, seed 1: dev score 56.6 against the
    # recipe's 53.7 +- 0.1, comparison_s1_probes.log), then a row with the grid and 3 seeds.
    "declutr_sentence_spans": {
        "label": "DeCLUTR, unmasked anchors, spans of 16-64, 32 documents a batch",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
        "options": [BEST | SENTENCE_SPANS],
    },
    "declutr_temperature": {  # S1's STS loss: a softer NT-Xent (the configs' 0.05 is SimCSE's too)
        "label": "DeCLUTR, unmasked anchors, temperature 0.1",
        "kind": "allennlp",
        "only": "s1",
        "why": "a probe of S1's loss on STS",
        "config": "declutr_small.jsonnet",
        "options": [BEST | {"model.loss.temperature": 0.1}],
        "rates": {"s1": [1e-4]},
        "probe": True,
    },
    "declutr_short_adjacent": {
        "label": "DeCLUTR, unmasked anchors, spans <= 128, 16 a batch, adjacent",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
        "options": [BEST | SHORT | ADJACENT],
        "rates": [5e-5],
        "probe": True,
    },
    "declutr_mlm_weight": {  # MiniLM has no masked-LM head: does a lighter MLM term keep STS?
        "label": "DeCLUTR, unmasked anchors, lighter masked LM",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
        "options": [BEST | {"model.mlm_weight": weight} for weight in (0.1, 0.3)],
        "rates": [2e-5],
        "probe": True,
    },
    "declutr_masked_positive": {  # S2's STS gap to SimCSE: add a dropout-style positive
        "label": "DeCLUTR, unmasked anchors, masked pass as a second positive",
        "kind": "allennlp",
        "config": "declutr_small.jsonnet",
        "options": [BEST | {"model.masked_anchor_positives": True}],
        "rates": {"s2": [2e-5], "s1": [1e-4]},
        "probe": True,
    },
    "contrastive": {
        "label": "contrastive only",
        "kind": "allennlp",
        "config": "contrastive_only.jsonnet",
        "options": [{"trainer.optimizer.correct_bias": True}],
    },
    "simcse": {"label": "SimCSE (sentence-transformers)", "kind": "peer", "method": "simcse"},
    "tsdae": {"label": "TSDAE (sentence-transformers)", "kind": "peer", "method": "tsdae"},
}
SMOKE = {"train": 60, "eval": 40, "pairs": 100, "tokens": 1500, "s1_documents": 200}
# S1's base, built with the reproduction's code: 5.4M parameters (4 layers of 256), 2,000 steps
# of 32 x 128 tokens (8.2M tokens, about half an hour on 2 cores); --smoke shrinks it.
S1_BASE = {
    "vocab_size": 8192, "hidden_size": 256, "num_layers": 4, "seq_len": 128, "batch_size": 32,
    "base_steps": 2000, "sweep_rates": [5e-4, 1e-3, 2e-3], "sweep_steps": 150,
    "warmup_fraction": 0.06, "validation_rows": 256, "seed": 13,
}  # fmt: skip
S1_SMOKE = {"vocab_size": 1000, "hidden_size": 64, "num_layers": 2, "seq_len": 64}
S1_SMOKE |= {"batch_size": 8, "base_steps": 10, "sweep_rates": [1e-3], "sweep_steps": 5}
S1_SMOKE |= {"validation_rows": 16}


def grid(setting: str, row: str, smoke: bool) -> List[Dict]:
    """The rate and options a row tries with seed 1 (smoke: one point, two for declutr_best)."""
    spec = ROWS[row]
    rates = spec.get("rates", RATES[setting][spec.get("method", "allennlp")])
    rates = rates[setting] if isinstance(rates, dict) else rates  # a probe's rates per setting
    points = [{"lr": rate, **options} for options in spec.get("options", [{}]) for rate in rates]
    return points[: (2 if row == "declutr_best" else 1)] if smoke else points
