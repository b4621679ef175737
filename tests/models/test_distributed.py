"""Distributed training on the CPU with gloo: real allennlp, real DDP, two processes."""

import copy
import json
import os
import socket
from pathlib import Path
from typing import List

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from allennlp.commands.train import train_model_from_file
from allennlp.common import Params
from allennlp.data import Batch, Vocabulary
from allennlp.models import Model
from allennlp.models.archival import load_archive
from torch.nn.parallel import DistributedDataParallel
from transformers import AutoTokenizer

from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE, quickstart_overrides, sampling_reader


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
    # Given the quickstart config on the fixture documents, with two CPU workers (gloo), and the
    # same documents as validation data (each worker validates on its half)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)
    overrides = quickstart_overrides(
        validation_data_path=str(DOCUMENTS),
        **{"data_loader.batch_size": 2, "distributed": {"cuda_devices": [-1, -1]}},
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
    # And the validation retrieval metrics, gathered from both workers, are those of one
    # process validating the trained model on all the documents' (deterministic) pairs
    model = load_archive(str(tmp_path / "out" / "model.tar.gz")).model.eval()
    reader = sampling_reader(tiny_model, seed=0)
    reader.set_epoch(0, deterministic=True)
    instances = list(reader.read(str(DOCUMENTS)))
    with torch.no_grad():
        model(**tensors(instances))
    single = model.get_metrics(reset=True)
    assert len(instances) == 12 and 0 < single["retrieval_accuracy"] < 1
    for key in ("retrieval_accuracy", "retrieval_mrr"):
        assert metrics[f"validation_{key}"] == pytest.approx(single[key], abs=1e-6)


def _train_node(node_rank: int, overrides: dict, serialization_dir: str) -> None:
    train_model_from_file(
        str(CONFIG_ROOT / "quickstart.jsonnet"),
        serialization_dir,
        overrides=json.dumps(overrides),
        node_rank=node_rank,
        include_package=["declutr", "tests.models.multinode_probe"],
        return_model=False,
    )


def _contains(document: List[int], span: List[int]) -> bool:
    text = f",{','.join(map(str, document))},"
    return f",{','.join(map(str, span))}," in text


@pytest.mark.slow
def test_two_nodes_train_on_disjoint_documents_with_shared_negatives(
    tiny_model_no_dropout, tmp_path, monkeypatch
):
    # Given two "nodes" on localhost, one CPU worker each, meeting at a fixed primary port
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    distributed = {
        "cuda_devices": [-1],
        "num_nodes": 2,
        "primary_address": "127.0.0.1",
        "primary_port": free_port(),
    }
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model_no_dropout)  # the forked nodes inherit it
    overrides = quickstart_overrides(
        **{
            "data_loader.batch_size": 2,
            "distributed": distributed,
            "model.masked_language_modeling": False,
            "trainer.callbacks": [{"type": "multinode_probe"}],
        },
    )

    # When each node runs allennlp's training with its node rank (as `allennlp train
    # --node-rank N` does), both at once
    context = mp.get_context("fork")
    nodes = [
        context.Process(target=_train_node, args=(rank, overrides, str(tmp_path / f"node{rank}")))
        for rank in range(2)
    ]
    for node in nodes:
        node.start()
    for node in nodes:
        node.join(timeout=300)
    assert [node.exitcode for node in nodes] == [0, 0]

    # Then both finish and the primary node writes the archive
    assert (tmp_path / "node0" / "model.tar.gz").is_file()
    probes = [torch.load(tmp_path / f"node{rank}" / f"probe-rank{rank}.pt") for rank in range(2)]

    # And every document is trained on by exactly one of the ranks
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_no_dropout)
    documents = [
        tokenizer(text, add_special_tokens=False)["input_ids"]
        for text in DOCUMENTS.read_text(encoding="utf-8").splitlines()
    ]
    seen = []
    for probe in probes:
        indices = set()
        for anchors in probe["anchor_ids"]:
            spans = [ids[1:-1] for ids in anchors]  # without <s> and </s>
            (index,) = [
                i for i, doc in enumerate(documents) if all(_contains(doc, s) for s in spans)
            ]
            indices.add(index)
        seen.append(indices)
    assert seen[0] and seen[1] and not seen[0] & seen[1]
    assert seen[0] | seen[1] == set(range(len(documents)))

    # And at every step both ranks' loss sees the same anchors: its own and the other node's
    steps = [probe["loss_inputs"] for probe in probes]
    assert len(steps[0]) == len(steps[1]) > 0
    local_anchors = len(probes[0]["anchor_ids"][0]) * 2  # 2 documents per batch per rank
    for step0, step1 in zip(*steps):
        assert step0.shape[0] == step1.shape[0] == 2 * local_anchors
        torch.testing.assert_close(step0, step1)


@pytest.mark.slow
def test_uneven_shards_train_on_one_schedule_with_identical_replicas(
    tiny_model, tmp_path, monkeypatch
):
    # Given a corpus whose even lines (rank 0's shard) are 6 long documents and whose odd lines
    # (rank 1's) are 2 long documents and 4 too short to sample from: 3 batches of 2 against 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    documents = DOCUMENTS.read_text(encoding="utf-8").splitlines()
    odd = documents[6:8] + ["too short"] * 4
    corpus = tmp_path / "uneven.txt"
    corpus.write_text("".join(f"{a}\n{b}\n" for a, b in zip(documents[:6], odd)))
    # The tiny model, with dropout and masking on: replicas must still agree
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)
    overrides = quickstart_overrides(
        train_data_path=str(corpus),
        **{
            "data_loader.batch_size": 2,
            "trainer.num_epochs": 2,
            "distributed": {"cuda_devices": [-1, -1]},
            "trainer.callbacks": [{"type": "schedule_probe"}],
        },
    )

    # When two CPU workers (gloo) train on it
    train_model_from_file(
        str(CONFIG_ROOT / "quickstart.jsonnet"),
        str(tmp_path / "out"),
        overrides=json.dumps(overrides),
        include_package=["declutr", "tests.models.schedule_probe"],
        return_model=False,
    )
    probes = [torch.load(tmp_path / "out" / f"schedule-rank{rank}.pt") for rank in range(2)]

    # Then both ranks take the larger shard's 3 steps per epoch, at the same learning rate each
    assert len(probes[0]["learning_rates"]) == len(probes[1]["learning_rates"]) == 6
    assert probes[0]["learning_rates"] == probes[1]["learning_rates"]
    assert len({rates[0] for rates in probes[0]["learning_rates"]}) > 1  # a real schedule
    # And at every step the loss sees both ranks' 2 documents of 2 anchors each
    assert probes[0]["loss_rows"] == probes[1]["loss_rows"] == [2 * 2 * 2] * 6
    # And the replicas end with identical parameters
    parameters = [probe["parameters"] for probe in probes]
    assert parameters[0].keys() == parameters[1].keys()
    for name, value in parameters[0].items():
        assert torch.equal(value, parameters[1][name]), name
