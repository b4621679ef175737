"""Export an encoder as a Hugging Face and sentence-transformers model directory, and check it.

`save_pretrained(encoder, output_dir)` (also `Encoder.save_pretrained`) writes the transformer
without any masked-LM head, its tokenizer, the sentence-transformers module files (a Transformer
with the encoder's maximum length, then mean pooling) and a model card. The directory loads with
`transformers.AutoModel`, `sentence_transformers.SentenceTransformer` and `declutr.Encoder`, all
embedding as `allennlp predict` does; `verify_export` checks that on a few texts. With
`backends`, it also holds `openvino/openvino_model.xml` or `onnx/model.onnx`, which
sentence-transformers loads with `backend="openvino"` or `"onnx"` and `Encoder` with the same
`backend` option.
`declutr export ARCHIVE OUT_DIR` does both from the command line.
"""

import copy
import json
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch
from transformers import AutoModel, PreTrainedModel

from declutr.inference.choice import CHECK_TEXTS, MIN_COSINE
from declutr.inference.loading import MEAN_POOLING, ST_POOLING, ST_TRANSFORMER, reader_config
from declutr.inference.runtimes import save_runtime_model

_POOLING_DIR = "1_Pooling"
# The model and its export embed `CHECK_TEXTS` within `MIN_COSINE`, as `backend="auto"` checks
# its runtimes.


def save_pretrained(encoder: Any, output_dir: Any, backends: Sequence[str] = ()) -> Path:
    """Write `encoder` (a `declutr.Encoder`) as a Hugging Face and sentence-transformers model
    directory, with the model files of each of `backends` ("openvino", "onnx"); see
    `Encoder.save_pretrained`. Returns the directory."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    complete = _complete_model(encoder.transformer)
    complete.save_pretrained(str(output_dir))
    names = ["input_ids", "attention_mask"]
    if "token_type_ids" in encoder.tokenizer.model_input_names:
        names.append("token_type_ids")
    for backend in backends:
        save_runtime_model(backend, complete.cpu(), names, output_dir)
    encoder.tokenizer.save_pretrained(str(output_dir))
    _write_sentence_transformers_files(
        output_dir, encoder.dim, encoder.max_length + encoder.num_special_tokens
    )
    (output_dir / "README.md").write_text(model_card(encoder), encoding="utf-8")
    return output_dir


def verify_export(
    encoder: Any, output_dir: Any, device: Optional[str] = None, backends: Sequence[str] = ()
) -> float:
    """Embed `CHECK_TEXTS` with `encoder` and with its export in `output_dir` (loaded as the same
    class, with torch and with each of `backends`, in float32) and return the smallest cosine
    similarity of a pair; raise `RuntimeError` if it is under `MIN_COSINE`."""
    expected = encoder.encode(CHECK_TEXTS, normalize=True)
    cosine = 1.0
    for backend in ["torch", *backends]:
        exported = type(encoder)(str(output_dir), device, backend=backend, precision="float32")
        vectors = exported.encode(CHECK_TEXTS, normalize=True)
        cosine = min(cosine, float(np.min(np.sum(expected * vectors, axis=1))))
        if cosine < MIN_COSINE:
            raise RuntimeError(
                f"The export in {output_dir} embeds differently from {encoder.source} with "
                f"backend {backend!r}: cosine similarity {cosine:.6f} < {MIN_COSINE}."
            )
    return cosine


def model_card(encoder: Any) -> str:
    """The export's `README.md`: base model, training data, usage and training config."""
    config = encoder.training_config or {}
    reader = reader_config(config)
    return _MODEL_CARD.format(
        front_matter=_front_matter(encoder.base_model),
        source=encoder.source,
        base_model=encoder.base_model or "unknown",
        train_data_path=config.get("train_data_path", "unknown"),
        dim=encoder.dim,
        max_length=encoder.max_length,
        max_seq_length=encoder.max_length + encoder.num_special_tokens,
        span_lengths=f"{reader.get('min_span_len')}-{reader.get('max_span_len')}",
        config=json.dumps(config, indent=2) if config else "{}",
    )


def _complete_model(transformer: PreTrainedModel) -> PreTrainedModel:
    """The encoder as `AutoModel` builds it, so that loading the export reports no missing
    weights. An encoder trained under a masked-LM head has no sentence pooler; the one added here
    keeps its (seeded) initial weights: `pooler_output` is untrained, and DeCLUTR does not use
    it. Any other difference in weights is an error."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        complete = AutoModel.from_config(copy.deepcopy(transformer.config))
    missing, unexpected = complete.load_state_dict(transformer.state_dict(), strict=False)
    missing = [key for key in missing if "pooler" not in key]
    if missing or unexpected:
        raise RuntimeError(
            f"Cannot export the encoder as {type(complete).__name__}: missing weights "
            f"{missing}, unexpected weights {unexpected}."
        )
    return complete.eval()


def _write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def _write_sentence_transformers_files(output_dir: Path, dim: int, max_seq_length: int) -> None:
    """A Transformer module (in the root) followed by mean pooling, written as plain JSON."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": ST_TRANSFORMER},
        {"idx": 1, "name": "1", "path": _POOLING_DIR, "type": ST_POOLING},
    ]
    _write_json(output_dir / "modules.json", modules)
    # sentence-transformers truncates to max_seq_length tokens, special tokens included.
    _write_json(
        output_dir / "sentence_bert_config.json",
        {"max_seq_length": max_seq_length, "do_lower_case": False},
    )
    pooling = {"word_embedding_dimension": dim, **MEAN_POOLING, "include_prompt": True}
    _write_json(output_dir / _POOLING_DIR / "config.json", pooling)
    _write_json(
        output_dir / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _front_matter(base_model: Optional[str]) -> str:
    lines = [
        "---",
        "library_name: sentence-transformers",
        "pipeline_tag: sentence-similarity",
        "tags: [declutr, sentence-transformers, feature-extraction, sentence-similarity]",
    ]
    # Only hub names belong in the hub's base_model field; local paths are in the card's text.
    if base_model and not Path(base_model).expanduser().exists() and base_model.count("/") <= 1:
        lines.append(f"base_model: {base_model}")
    return "\n".join(lines + ["---"])


_MODEL_CARD = """{front_matter}

# DeCLUTR sentence encoder

A sentence encoder trained with [DeCLUTR](https://aclanthology.org/2021.acl-long.72/) (contrastive
spans of {span_lengths} tokens plus masked language modelling), exported from `{source}`.

- Base model: `{base_model}`
- Training data: `{train_data_path}`
- Embedding: the mean of the last hidden states over the real tokens, as in training.
- Dimensions: {dim}.
- Maximum length: {max_length} subword tokens per text, {max_seq_length} with special tokens.
- The masked-LM head is not included. `pooler_output` comes from an untrained pooler: use mean
  pooling as below.

## Usage

```python
from declutr import Encoder

embeddings = Encoder("path/to/this/directory").encode(["A sentence.", "Another one."])
```

```python
from sentence_transformers import SentenceTransformer

embeddings = SentenceTransformer("path/to/this/directory").encode(["A sentence."])
```

sentence-transformers strips surrounding whitespace from each text first; DeCLUTR's predictor
does not, so texts with leading or trailing spaces can differ slightly.

```python
import torch
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("path/to/this/directory")
model = AutoModel.from_pretrained("path/to/this/directory").eval()
inputs = tokenizer(["A sentence."], truncation=True, max_length={max_seq_length},
                   padding=True, return_tensors="pt")
with torch.inference_mode():
    hidden = model(**inputs).last_hidden_state
mask = inputs["attention_mask"].unsqueeze(-1).float()
embeddings = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
```

## Training config

```json
{config}
```
"""
