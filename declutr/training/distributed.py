"""Configurations that allennlp's `train` command starts in distributed training but cannot
finish with declutr's components, refused before training starts."""

import functools
from typing import Any

from allennlp.commands import train as train_command
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError

_CHECKED_MARK = "_declutr_checks_distributed_params"


def check_distributed_params(params: Params) -> None:
    """Refuse `evaluate_on_test` (with a `test_data_path`) in distributed training.

    allennlp 2.10 evaluates the test data (`TrainModel.finish`) in the primary worker alone,
    after the other workers have returned. The "declutr" model's forward pass (its gathered
    negatives), its metrics, and the "declutr_streaming" loader (its length) communicate with
    every worker, so that evaluation fails or hangs, after the whole training and before the
    archive is written: refused up front instead, with what to do.
    """
    if params.get("distributed") is None or not params.get("evaluate_on_test", False):
        return
    if params.get("test_data_path") is None:
        return
    raise ConfigurationError(
        "evaluate_on_test is not supported in distributed training: allennlp evaluates the test "
        "data in the primary worker alone, after the other workers have stopped, while the "
        "declutr model, its metrics and data loader need every worker (it would fail or hang "
        'after training, before writing the archive). Set "evaluate_on_test": false (keep '
        "test_data_path if you like) and evaluate the archive in one process after training: "
        "allennlp evaluate SERIALIZATION_DIR/model.tar.gz TEST_FILE --include-package declutr."
    )


def check_distributed_params_before_training() -> None:
    """Make allennlp's `train_model` (which `allennlp train` and `train_model_from_file` call)
    run `check_distributed_params` first, before it makes the serialization directory or
    starts any worker (idempotent)."""
    original = train_command.train_model
    if getattr(original, _CHECKED_MARK, False):
        return

    @functools.wraps(original)
    def train_model(params: Params, *args: Any, **kwargs: Any) -> Any:
        check_distributed_params(params)
        return original(params, *args, **kwargs)

    setattr(train_model, _CHECKED_MARK, True)
    train_command.train_model = train_model
