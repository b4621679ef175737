"""int8: the OpenVINO model quantized by NNCF's post-training static quantization, calibrated on
the user's own texts.

`save_int8(encoder, output_dir, texts)` converts the encoder's float32 transformer to OpenVINO,
measures its activations on up to `CALIBRATION_TEXTS` of `texts` (each text alone, tokenized as
the encoder tokenizes it), and writes `openvino/openvino_model_qint8_quantized.xml`, the name
sentence-transformers gives its own static int8 export, so that it loads there too:

    SentenceTransformer(output_dir, backend="openvino",
                        model_kwargs={"file_name": "openvino_model_qint8_quantized.xml"})

`Encoder(output_dir, backend="openvino", precision="int8")` reads it. NNCF's transformer preset
is used as it comes (`model_type=TRANSFORMER`: symmetric int8 weights, activations of the
matrix products quantized, SmoothQuant on them); nothing in it was tuned on any test set. The
extra `declutr[int8]` installs NNCF. int8 changes the vectors more than bfloat16 does, so
`backend="auto"` never chooses it: it is a choice the user makes, after checking its scores
(docs/performance.md has them for all-MiniLM-L6-v2).
"""

import logging
import random
from pathlib import Path
from typing import Any, Iterable, List

from declutr.inference.runtimes import INT8_OPENVINO_FILE, _import_extra, to_openvino

logger = logging.getLogger(__name__)

# Texts whose activations calibrate the quantization (NNCF's default subset size).
CALIBRATION_TEXTS = 300


def _import_nncf() -> Any:
    try:
        import nncf
    except ImportError as error:
        raise ImportError(f'int8 needs NNCF: pip install "declutr[int8]" ({error}).') from error
    return nncf


def calibration_sample(texts: Iterable[str], size: int = CALIBRATION_TEXTS, seed: int = 13):
    """Up to `size` non-blank texts of `texts`, a seeded uniform sample (reservoir) of them."""
    rng = random.Random(seed)
    sample: List[str] = []
    for index, text in enumerate(text for text in texts if text.strip()):
        if len(sample) < size:
            sample.append(text)
        elif (slot := rng.randint(0, index)) < size:
            sample[slot] = text
    return sample


def save_int8(
    encoder: Any, output_dir: Any, texts: Iterable[str], size: int = CALIBRATION_TEXTS
) -> Path:
    """Write the int8 OpenVINO model of `encoder` (a `declutr.Encoder`) to
    `output_dir/openvino/openvino_model_qint8_quantized.xml` (+ `.bin`), calibrated on a sample
    of `texts`; returns its path. Raises `ValueError` for fewer than 10 non-blank texts."""
    if encoder.device.type != "cpu":
        raise ValueError(f"int8 models are made and run on the CPU; load the encoder there "
                         f"(device='cpu'), not on {encoder.device}.")  # fmt: skip
    nncf = _import_nncf()
    openvino = _import_extra("openvino")
    sample = calibration_sample(texts, size)
    if len(sample) < 10:
        raise ValueError(
            f"int8 calibration needs at least 10 non-blank texts of your own data, got "
            f"{len(sample)}; pass a file with one text per line."
        )
    rows, _ = encoder._token_rows(sample)
    names = ["input_ids", "attention_mask"] + ["token_type_ids"] * encoder._uses_token_type_ids
    items = [_one_row(row, names) for row in rows]
    model = to_openvino(encoder.transformer, names)
    logger.info("Quantizing to int8 on %d calibration texts ...", len(items))
    quantized = nncf.quantize(
        model,
        nncf.Dataset(items),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(items),
    )
    path = Path(output_dir) / INT8_OPENVINO_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    openvino.save_model(quantized, str(path), False)
    return path


def _one_row(row: List[int], names: List[str]) -> dict:
    import numpy as np

    ids = np.asarray([row], dtype=np.int64)
    values = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    return {name: values.get(name, np.zeros_like(ids)) for name in names}
