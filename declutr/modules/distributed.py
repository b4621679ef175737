"""Gathering embeddings across distributed workers so that every worker's spans are negatives
for every other worker's."""

from typing import List

import torch
import torch.distributed as dist


def all_gather_with_local_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate `tensor` from every worker along dim 0, in rank order.

    Tensors may differ in their first dimension between workers (the last batch of an epoch).
    Gathered copies carry no gradient; the local slice is the input tensor itself, so gradients
    flow to this worker's parameters through it. Returns `tensor` unchanged when not distributed.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    world_size, rank = dist.get_world_size(), dist.get_rank()
    local_size = torch.tensor([tensor.size(0)], device=tensor.device)
    sizes = [torch.zeros_like(local_size) for _ in range(world_size)]
    dist.all_gather(sizes, local_size)
    max_size = int(max(size.item() for size in sizes))
    padded = torch.zeros((max_size, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    padded[: tensor.size(0)] = tensor.detach()
    gathered: List[torch.Tensor] = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(gathered, padded)
    pieces = [part[: int(size.item())] for part, size in zip(gathered, sizes)]
    pieces[rank] = tensor
    return torch.cat(pieces)


def scale_gradient(loss: torch.Tensor, factor: float) -> torch.Tensor:
    """Return a tensor equal to `loss` whose gradient is `factor` times the gradient of `loss`."""
    if factor == 1:
        return loss
    return loss + (factor - 1) * (loss - loss.detach())
