import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_ROOT = PROJECT_ROOT / "tests" / "fixtures"
CONFIG_ROOT = PROJECT_ROOT / "training_config"
DOCUMENTS = FIXTURES_ROOT / "documents.txt"


# training_config/quickstart.jsonnet takes its encoder (tokenizer and embedder) from this
# environment variable.
MODEL_VARIABLE = "DECLUTR_MODEL"


def quickstart_overrides(**extra: object) -> dict:
    """Overrides that train `training_config/quickstart.jsonnet` on the fixture documents in
    seconds: short spans (documents need 2 * 2 * 32 tokens), batches of 4. `extra` adds or
    replaces keys. The encoder is set by `MODEL_VARIABLE` (see `quickstart_env`)."""
    return {
        "train_data_path": str(DOCUMENTS),
        "dataset_reader.max_span_len": 32,
        "dataset_reader.min_span_len": 8,
        "data_loader.batch_size": 4,
        **extra,
    }


def quickstart_env(model_path: str) -> dict:
    """The environment in which the quickstart config uses `model_path` as its encoder: set it
    with `monkeypatch.setenv` in process, or pass it to a subprocess."""
    return {**os.environ, MODEL_VARIABLE: model_path}


def sampling_reader(model_path: str, seed: int):
    """A "declutr" reader over `model_path`'s tokenizer: 2 anchors of 8..32 tokens, 2 positives
    each (documents need 2 * 2 * 32 tokens), seeded."""
    from allennlp.common import Params

    from declutr.data.dataset_readers import DeCLUTRDatasetReader

    tokenizer = {"type": "pretrained_transformer", "model_name": model_path}
    params = {"tokenizer": tokenizer, "num_anchors": 2, "num_positives": 2}
    params.update({"min_span_len": 8, "max_span_len": 32, "seed": seed})
    return DeCLUTRDatasetReader.from_params(Params(params))
