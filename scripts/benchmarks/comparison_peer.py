"""The comparison's SimCSE and TSDAE rows, trained by sentence-transformers itself.

Runs in the peer venv (`comparison_peer_requirements.txt`), never imports declutr, and is called
by `comparison.py` as a subprocess with one JSON argument:

    python comparison_peer.py train '{"method": "simcse", "base": ..., "texts": ..., ...}'
    python comparison_peer.py encode '{"model": ..., "texts": ..., "output": ..., ...}'

`train` prints one JSON line: encoder tokens (forward and backward), decoder tokens (TSDAE),
sentences, optimizer steps and wall time. `encode` writes the vectors as `.npy`.

Recipes (the documented ones; the rate is chosen on dev data by `comparison.py`):

- SimCSE (Gao et al., EMNLP 2021, https://arxiv.org/abs/2104.08821; sentence-transformers'
  "SimCSE" example, https://sbert.net/examples/unsupervised_learning/SimCSE/README.html): each
  sentence paired with itself, `(s, s)`, dropout as the only noise, `MultipleNegativesRankingLoss`
  with in-batch negatives and scale 20 (the paper's temperature 0.05), mean pooling (the example),
  `max_seq_length` 32 (both), batch size 64 and rate 3e-5 (the paper's, BERT-base), linear decay.
- TSDAE (Wang et al., Findings of EMNLP 2021, https://arxiv.org/abs/2104.06979;
  sentence-transformers' "TSDAE" example): `DenoisingAutoEncoderDataset` with deletion noise 0.6,
  `DenoisingAutoEncoderLoss` with the decoder tied to the encoder, CLS pooling, batch size 8,
  constant rate 3e-5, no weight decay; `max_seq_length` 64 (the recipe sets none; sentences of
  the training documents rarely exceed it, and the tied decoder scores the whole vocabulary at
  every padded position, so longer padding costs much time). The dataset's default noise
  tokenizes with nltk, whose punkt data cannot be downloaded here: `delete_words` deletes 60% of
  the whitespace tokens instead (keeping at least one), seeded.
"""

import json
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

RECIPES = {
    "simcse": {"batch_size": 64, "max_seq_length": 32, "pooling": "mean", "scheduler": "linear"},
    "tsdae": {"batch_size": 8, "max_seq_length": 64, "pooling": "cls", "scheduler": "constant"},
}


def delete_words(text: str, rng: random.Random, ratio: float = 0.6) -> str:
    """TSDAE's deletion noise on whitespace tokens: each kept with probability 1 - `ratio`."""
    words = text.split()
    kept = [word for word in words if rng.random() >= ratio]
    return " ".join(kept or [rng.choice(words)])


def build_model(base: str, recipe: Dict):
    from sentence_transformers import SentenceTransformer, models

    transformer = models.Transformer(base, max_seq_length=recipe["max_seq_length"])
    dimension = transformer.get_embedding_dimension()
    pooling = models.Pooling(dimension, pooling_mode=recipe["pooling"])
    return SentenceTransformer(modules=[transformer, pooling], device="cpu")


def token_counts(model, texts: List[str]) -> List[int]:
    """Tokens of each text as the encoder sees it (special tokens in, truncated, unpadded)."""
    limit = model.max_seq_length
    ids = model.tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
    return [len(row) for row in ids]


def examples(method: str, model, sentences: List[str], budget: int, seed: int) -> Tuple:
    """(columns, encoder tokens, decoder tokens): sentences in a seeded order, repeated if one
    pass is short of `budget`, until their encoder tokens reach it."""
    from sentence_transformers.sentence_transformer.datasets import DenoisingAutoEncoderDataset

    rng = random.Random(seed)
    order = sentences[:]
    rng.shuffle(order)
    first, second, encoder, decoder = [], [], 0, 0
    while encoder < budget:
        noised = DenoisingAutoEncoderDataset(order, noise_fn=lambda s: delete_words(s, rng))
        for index in range(len(order)):
            if method == "simcse":
                pair = [order[index], order[index]]
            else:
                pair = noised[index].texts  # (damaged, original)
            a, b = token_counts(model, pair)
            encoder += a + b if method == "simcse" else a
            decoder += b if method == "tsdae" else 0
            first.append(pair[0])
            second.append(pair[1])
            if encoder >= budget:
                break
    names = ("anchor", "positive") if method == "simcse" else ("damaged", "original")
    return {names[0]: first, names[1]: second}, encoder, decoder


def train(options: Dict) -> Dict:
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.losses import DenoisingAutoEncoderLoss, MultipleNegativesRankingLoss

    torch.manual_seed(options["seed"])
    recipe = {**RECIPES[options["method"]], **options.get("recipe", {})}
    model = build_model(options["base"], recipe)
    sentences = [line.rstrip("\n") for line in open(options["texts"], encoding="utf-8")]
    columns, encoder, decoder = examples(
        options["method"], model, sentences, options["tokens"], options["seed"]
    )
    if options["method"] == "simcse":
        loss = MultipleNegativesRankingLoss(model, scale=20.0)
    else:
        loss = DenoisingAutoEncoderLoss(model, options["base"], tie_encoder_decoder=True)
    arguments = SentenceTransformerTrainingArguments(
        output_dir=str(Path(options["output"]) / "trainer"),
        num_train_epochs=1,
        per_device_train_batch_size=recipe["batch_size"],
        learning_rate=options["learning_rate"],
        lr_scheduler_type=recipe["scheduler"],
        weight_decay=0.0,
        seed=options["seed"],
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        logging_steps=50,
        disable_tqdm=True,
    )
    data = Dataset.from_dict(columns)
    trainer = SentenceTransformerTrainer(model, arguments, train_dataset=data, loss=loss)
    started = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - started
    model.save(str(Path(options["output"]) / "model"))
    return {
        "encoder_tokens": encoder,
        "decoder_tokens": decoder,
        "examples": len(data),
        "steps": result.global_step,
        "train_seconds": seconds,
        "train_loss": result.training_loss,
        "recipe": recipe,
    }


def encode(options: Dict) -> Dict:
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(options["model"], device="cpu")
    model.max_seq_length = options["max_length"]
    texts = json.loads(Path(options["texts"]).read_text(encoding="utf-8"))
    vectors = model.encode(texts, batch_size=64, convert_to_numpy=True)
    np.save(options["output"], vectors.astype(np.float32))
    return {"texts": len(texts)}


if __name__ == "__main__":
    command, argument = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps({"train": train, "encode": encode}[command](argument)), flush=True)
