"""The reproduction's base: masked-LM pretraining from scratch, with a sound optimizer.

Documents are split into a validation set (held out from every stage) and a training set. A
byte-level BPE tokenizer and a random RoBERTa-style encoder are built on the training set
(`declutr.testing.from_scratch`); the training documents are tokenized, joined with `</s>` and cut
into fixed-length sequences (short sequences and a larger batch let a masked LM leave the unigram
stage quickly). Training uses `torch.optim.AdamW` (Adam's bias correction always on), a linear
warm-up over a fraction of the steps and a linear decay to zero; the loss is computed on the
masked positions only. `sweep` tries a few peak rates for a few hundred steps each and keeps the
one with the lowest held-out masked-LM loss; `pretrain` then trains the base with it.
"""

import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from tqdm.auto import tqdm

logger = logging.getLogger("reproduction")


@dataclass
class PretrainSettings:
    """What the base's pretraining depends on (stored beside the model, checked on reuse)."""

    steps: int
    learning_rate: float
    batch_size: int = 32
    seq_len: int = 128
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    mlm_probability: float = 0.15
    seed: int = 13


def split_documents(corpus: Path, num_validation: int, seed: int) -> Tuple[List[str], List[str]]:
    """(training, validation) texts: the corpus shuffled with `seed`, `num_validation` held out."""
    with corpus.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    random.Random(seed).shuffle(texts)
    if num_validation >= len(texts):
        raise ValueError(f"num_validation={num_validation}, the corpus has {len(texts)} documents.")
    return texts[num_validation:], texts[:num_validation]


def pack(tokenizer, texts: Sequence[str], seq_len: int) -> torch.Tensor:
    """Token ids of `texts`, each followed by `</s>`, cut into rows of `seq_len` - 2 tokens and
    wrapped in `<s>` ... `</s>`: shape (rows, seq_len)."""
    ids: List[int] = []
    for start in range(0, len(texts), 256):
        for row in tokenizer(list(texts[start : start + 256]), add_special_tokens=False)[
            "input_ids"
        ]:
            ids.extend(row + [tokenizer.sep_token_id])
    body = seq_len - 2
    rows = torch.tensor(ids[: len(ids) // body * body]).view(-1, body)
    bos = torch.full((len(rows), 1), tokenizer.cls_token_id)
    eos = torch.full((len(rows), 1), tokenizer.sep_token_id)
    return torch.cat([bos, rows, eos], dim=1)


def mask_tokens(
    ids: torch.Tensor, tokenizer, probability: float, generator: torch.Generator
) -> Tuple[torch.Tensor, torch.Tensor]:
    """(inputs, masked positions): BERT's 80/10/10 scheme, never on `<s>`/`</s>`."""
    selected = torch.rand(ids.shape, generator=generator) < probability
    selected[:, 0] = selected[:, -1] = False
    inputs = ids.clone()
    choice = torch.rand(ids.shape, generator=generator)
    inputs[selected & (choice < 0.8)] = tokenizer.mask_token_id
    random_ids = torch.randint(len(tokenizer), ids.shape, generator=generator)
    replace = selected & (choice >= 0.8) & (choice < 0.9)
    inputs[replace] = random_ids[replace]
    return inputs, selected


def masked_loss(model, ids: torch.Tensor, inputs: torch.Tensor, selected: torch.Tensor):
    """(mean cross-entropy, correct predictions) over the masked positions only."""
    device = model.device
    hidden = model.roberta(input_ids=inputs.to(device)).last_hidden_state
    logits = model.lm_head(hidden[selected.to(device)])
    targets = ids[selected].to(device)
    loss = torch.nn.functional.cross_entropy(logits, targets)
    return loss, int((logits.argmax(-1) == targets).sum())


@torch.no_grad()
def evaluate_mlm(model, tokenizer, validation: torch.Tensor, batch_size: int = 64) -> Dict:
    """Held-out masked-LM loss and masked-token accuracy, on masks fixed by a seed."""
    model.eval()
    generator = torch.Generator().manual_seed(0)
    total_loss, correct, count = 0.0, 0, 0
    for start in range(0, len(validation), batch_size):
        ids = validation[start : start + batch_size]
        inputs, selected = mask_tokens(ids, tokenizer, 0.15, generator)
        loss, hits = masked_loss(model, ids, inputs, selected)
        masked = int(selected.sum())
        total_loss, correct, count = (
            total_loss + float(loss) * masked,
            correct + hits,
            count + masked,
        )
    model.train()
    return {"mlm_loss": total_loss / count, "masked_accuracy": correct / count}


def unigram_baseline(train_rows: torch.Tensor, validation: torch.Tensor) -> Dict:
    """What a masked LM at the unigram stage scores on the held-out tokens: the cross-entropy of
    the training token frequencies, and the accuracy of always guessing the most frequent token.
    A base below that loss and above that accuracy uses the context."""
    counts = torch.bincount(train_rows[:, 1:-1].reshape(-1)).double()
    probabilities = counts / counts.sum()
    held_out = validation[:, 1:-1].reshape(-1)
    held_out = held_out[held_out < len(probabilities)]
    return {
        "mlm_loss": float(-probabilities[held_out].clamp_min(1e-12).log().mean()),
        "masked_accuracy": float((held_out == probabilities.argmax()).double().mean()),
    }


def _optimizer(model, settings: PretrainSettings):
    decay = [p for n, p in model.named_parameters() if not ("bias" in n or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or "LayerNorm" in n]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay}],
        lr=settings.learning_rate,
        betas=(0.9, 0.98),
        eps=1e-6,
        weight_decay=0.0,
    )
    warmup = max(1, round(settings.warmup_fraction * settings.steps))

    def factor(step: int) -> float:  # linear warm-up, then linear decay to zero
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (settings.steps - step) / max(1, settings.steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_mlm(
    model_dir: Path,
    train_rows: torch.Tensor,
    validation: torch.Tensor,
    settings: PretrainSettings,
    output_dir: Optional[Path] = None,
    eval_every: int = 250,
) -> Dict:
    """Trains the masked LM in `model_dir` for `settings.steps` steps; saves it to `output_dir`
    (when given). Returns the settings, the held-out curve and the wall time."""
    from transformers import AutoTokenizer, RobertaForMaskedLM

    torch.manual_seed(settings.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = RobertaForMaskedLM.from_pretrained(str(model_dir))
    model.to("cuda" if torch.cuda.is_available() else "cpu").train()
    optimizer, scheduler = _optimizer(model, settings)
    generator = torch.Generator().manual_seed(settings.seed)
    order = torch.randperm(len(train_rows), generator=generator)
    curve = [{"step": 0, **evaluate_mlm(model, tokenizer, validation)}]
    start = time.perf_counter()
    for step in tqdm(range(settings.steps), desc=f"MLM lr={settings.learning_rate:g}"):
        index = order[(step * settings.batch_size + torch.arange(settings.batch_size)) % len(order)]
        ids = train_rows[index]
        inputs, selected = mask_tokens(ids, tokenizer, settings.mlm_probability, generator)
        loss, _ = masked_loss(model, ids, inputs, selected)
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"MLM loss is {float(loss)} at step {step}; lower the rate.")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if (step + 1) % eval_every == 0 or step + 1 == settings.steps:
            curve.append({"step": step + 1, **evaluate_mlm(model, tokenizer, validation)})
            logger.info("MLM lr=%g %s", settings.learning_rate, curve[-1])
    seconds = time.perf_counter() - start
    if output_dir is not None:
        model.cpu().save_pretrained(str(output_dir))
        tokenizer.save_pretrained(str(output_dir))
    return {"settings": asdict(settings), "curve": curve, "train_seconds": seconds}


def sweep(
    model_dir: Path,
    train_rows: torch.Tensor,
    validation: torch.Tensor,
    rates: Sequence[float],
    settings: PretrainSettings,
    cache_dir: Optional[Path] = None,
) -> Dict:
    """Each rate for `settings.steps` steps from the same initial weights; the best by held-out
    masked-LM loss. Each rate's result is kept in `cache_dir` (when given), so that an
    interrupted sweep resumes."""
    runs = []
    for rate in rates:
        path = cache_dir / f"sweep_lr{rate:g}.json" if cache_dir is not None else None
        if path is not None and path.is_file():
            runs.append(json.loads(path.read_text()))
            logger.info("sweep (reused): %s", runs[-1])
            continue
        run = train_mlm(
            model_dir,
            train_rows,
            validation,
            PretrainSettings(**{**asdict(settings), "learning_rate": rate}),
            eval_every=settings.steps,
        )
        seconds = run["train_seconds"]
        runs.append({"learning_rate": rate, **run["curve"][-1], "train_seconds": seconds})
        if path is not None:
            path.write_text(json.dumps(runs[-1]))
        logger.info("sweep: %s", runs[-1])
    best = min(runs, key=lambda run: run["mlm_loss"])
    return {"runs": runs, "best_learning_rate": best["learning_rate"]}
