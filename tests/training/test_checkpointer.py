"""Tests of the "declutr" checkpointer with a real allennlp trainer (the kill-and-resume run is in
tests/reliability/test_resume.py)."""

import logging
import random
from typing import Dict

import numpy as np
import pytest
import torch
from allennlp.common import Params
from allennlp.data import Instance, Vocabulary
from allennlp.data.data_loaders import SimpleDataLoader
from allennlp.data.fields import TensorField
from allennlp.models import Model
from allennlp.training import GradientDescentTrainer
from allennlp.training.checkpointer import Checkpointer

from declutr.training import DeCLUTRCheckpointer


class Linear(Model):
    def __init__(self) -> None:
        super().__init__(Vocabulary.empty())
        self.linear = torch.nn.Linear(2, 1)
        self.dropout = torch.nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"loss": self.linear(self.dropout(x)).pow(2).mean()}


def trainer(checkpointer: Checkpointer, tmp_path, num_batches: int = 0) -> GradientDescentTrainer:
    model = Linear()
    instances = [Instance({"x": TensorField(torch.ones(2))}) for _ in range(num_batches)]
    data_loader = SimpleDataLoader(instances, batch_size=1)
    data_loader.index_with(model.vocab)
    return GradientDescentTrainer(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        data_loader,
        num_epochs=1,
        serialization_dir=str(tmp_path),
        checkpointer=checkpointer,
    )


def draws():
    return (random.random(), np.random.rand(), np.random.randn(), torch.rand(3).tolist())


def test_recovering_restores_the_random_states_of_the_checkpoint(tmp_path, caplog):
    # Given a checkpoint written mid-run, after which the run drew more random numbers
    np.random.randn()  # numpy now caches a Gaussian: that is part of its state
    saver = DeCLUTRCheckpointer(str(tmp_path), keep_most_recent_by_count=None)
    saver.maybe_save_checkpoint(trainer(saver, tmp_path), 0, 0)  # end of epoch 0
    after_checkpoint = draws()
    draws()
    # When a new process's checkpointer loads it (as --recover does)
    with caplog.at_level(logging.INFO):
        assert DeCLUTRCheckpointer(str(tmp_path)).load_checkpoint() is not None
    # Then every generator continues from where the checkpoint was taken
    assert draws() == after_checkpoint
    assert "Restored the random states" in caplog.text


def test_a_checkpoint_without_random_states_resumes_with_a_warning(tmp_path, caplog):
    # Given a checkpoint written by allennlp's own checkpointer
    default = Checkpointer(str(tmp_path))
    default.maybe_save_checkpoint(trainer(default, tmp_path), 0, 0)
    # When the "declutr" checkpointer loads it
    with caplog.at_level(logging.WARNING):
        assert DeCLUTRCheckpointer(str(tmp_path)).load_checkpoint() is not None
    # Then it warns that the draws will differ
    assert "random_states_e0_b0_w0.th is missing" in caplog.text


def test_random_states_are_removed_with_their_checkpoint_or_without_one(tmp_path):
    # Given a checkpointer saving after every batch, keeping the 2 most recent checkpoints, and
    # random states whose checkpoint is gone (as on a multi-node run's other nodes)
    checkpointer = DeCLUTRCheckpointer(str(tmp_path), save_every_num_batches=1)
    (tmp_path / "random_states_e9_b9_w0.th").write_bytes(b"")
    # When an epoch of 3 batches is trained (4 checkpoints: 3 batches and the epoch's end)
    trainer(checkpointer, tmp_path, num_batches=3).train()
    # Then the random states of the 2 kept remain
    kept = sorted(path.name for path in tmp_path.glob("random_states_*"))
    assert kept == ["random_states_e0_b3_w0.th", "random_states_e1_b0_w0.th"]
    assert len(list(tmp_path.glob("training_state_*"))) == 2
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, DeCLUTRCheckpointer),
        ({"type": "declutr"}, DeCLUTRCheckpointer),
        ({"type": "default"}, Checkpointer),
    ],
)
def test_a_checkpointer_without_a_type_is_the_declutr_one(tmp_path, params, expected):
    # Given a checkpointer's params as an override that replaces the config's dict leaves them
    # When allennlp builds it / Then it saves random states unless "default" is asked for
    checkpointer = Checkpointer.from_params(Params(params), serialization_dir=str(tmp_path))
    assert type(checkpointer) is expected
