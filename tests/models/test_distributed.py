"""Distributed training on the CPU with gloo: real allennlp, real DDP, two processes."""

import copy
import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from allennlp.commands.train import train_model_from_file
from allennlp.common import Params
from allennlp.data import Batch, Vocabulary
from allennlp.models import Model
from torch.nn.parallel import DistributedDataParallel

from tests import CONFIG_ROOT, DOCUMENTS, quickstart_overrides, sampling_reader


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def contrastive_model(model_path: str, scale_fix: bool) -> Model:
    embedder = {
        "type": "pretrained_transformer",
        "model_name": model_path,
        "transformer_kwargs": {"add_pooling_layer": False},
    }
    params = Params(
        {
            "type": "declutr",
            "text_field_embedder": {"token_embedders": {"tokens": embedder}},
            "loss": {"type": "nt_xent", "temperature": 0.05},
            "masked_language_modeling": False,
            "scale_fix": scale_fix,
        }
    )
    return Model.from_params(vocab=Vocabulary.empty(), params=params)


def tensors(instances):
    batch = Batch(copy.deepcopy(instances))
    batch.index_instances(Vocabulary.empty())
    return batch.as_tensor_dict()


def _ddp_steps(rank, world_size, port, model_path, batches_file, out_dir):
    """One training step on this rank's batch, with and without scale_fix."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        for scale_fix in (True, False):
            model = contrastive_model(model_path, scale_fix).train()
            ddp = DistributedDataParallel(model)
            output = ddp(**torch.load(batches_file)[rank])
            output["loss"].backward()
            grads = {name: p.grad.clone() for name, p in model.named_parameters()}
            result = {"loss": output["loss"].item(), "grads": grads}
            torch.save(result, Path(out_dir) / f"{rank}-{scale_fix}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_gradient_equals_one_process_with_the_combined_batch(tiny_model_no_dropout, tmp_path):
    # Given 4 documents' instances: workers 0 and 1 hold 2 each; one process holds all 4
    reader = sampling_reader(tiny_model_no_dropout, seed=5)
    instances = list(reader.read(str(DOCUMENTS)))[:4]
    torch.save([tensors(instances[:2]), tensors(instances[2:])], tmp_path / "batches.pt")
    reference = contrastive_model(tiny_model_no_dropout, scale_fix=True).train()
    reference_loss = reference(**tensors(instances))["loss"]
    reference_loss.backward()

    # When two DDP workers (gloo) each take one training step on their half. Forked, not
    # spawned: the children inherit the imported libraries instead of paying ~10 s each.
    mp.start_processes(
        _ddp_steps,
        args=(2, free_port(), tiny_model_no_dropout, tmp_path / "batches.pt", tmp_path),
        nprocs=2,
        start_method="fork",
    )

    for rank in range(2):
        for scale_fix, expected_scale in [(True, 1.0), (False, 0.5)]:
            result = torch.load(tmp_path / f"{rank}-{scale_fix}.pt")
            # Then each worker's loss covers both workers' spans: it equals the combined batch's
            assert result["loss"] == pytest.approx(reference_loss.item(), rel=1e-5)
            # And the gradient each applies after DDP's averaging equals the combined batch's
            # with the default scale_fix; the paper's scaling gives 1 / world_size of it
            for name, param in reference.named_parameters():
                torch.testing.assert_close(
                    result["grads"][name], param.grad * expected_scale, rtol=1e-4, atol=1e-5
                )


@pytest.mark.slow
def test_two_process_cpu_training_writes_an_archive(tiny_model, tmp_path, monkeypatch):
    # Given the quickstart config on the fixture documents, with two CPU workers (gloo)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    overrides = quickstart_overrides(
        tiny_model, **{"data_loader.batch_size": 2, "distributed": {"cuda_devices": [-1, -1]}}
    )
    # When allennlp trains it
    train_model_from_file(
        str(CONFIG_ROOT / "quickstart.jsonnet"),
        str(tmp_path / "out"),
        overrides=json.dumps(overrides),
        include_package=["declutr"],
        return_model=False,
    )
    # Then it finishes with an archive and both objectives' metrics
    assert (tmp_path / "out" / "model.tar.gz").is_file()
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["training_contrastive_loss"] > 0 and metrics["training_mlm_loss"] > 0
