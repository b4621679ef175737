"""BERT-style masking for the masked-language-modelling objective, on the tensors' device."""

from typing import Optional, Tuple

import torch

IGNORE_INDEX = -100  # the label torch's cross-entropy (and Hugging Face's MLM heads) ignore


def mask_tokens(
    token_ids: torch.Tensor,
    maskable: torch.Tensor,
    mask_token_id: int,
    vocab_size: int,
    mlm_probability: float = 0.15,
    generator: Optional[torch.Generator] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Select `mlm_probability` of the maskable tokens; replace 80% of them with the mask token,
    10% with a random token and keep 10% (Devlin et al., 2019).

    # Parameters

    token_ids : `torch.LongTensor`, shape `(batch_size, seq_len)`
    maskable : `torch.BoolTensor`, shape `(batch_size, seq_len)`
        False for padding and special tokens, which are never selected.
    mask_token_id : `int`
    vocab_size : `int`
        Random replacements are drawn from `[0, vocab_size)`.
    mlm_probability : `float`, optional (default=`0.15`)
    generator : `torch.Generator`, optional
        On the same device as `token_ids`.

    # Returns

    `(masked_token_ids, labels)`: the inputs after replacement, and the original ids at the
    selected positions with `IGNORE_INDEX` elsewhere. `token_ids` is not modified.
    """

    def uniform() -> torch.Tensor:
        return torch.rand(token_ids.shape, device=token_ids.device, generator=generator)

    selected = (uniform() < mlm_probability) & maskable
    labels = torch.where(selected, token_ids, torch.full_like(token_ids, IGNORE_INDEX))
    action = uniform()  # < 0.8: mask; 0.8..0.9: random token; >= 0.9: keep
    random_tokens = torch.randint(
        vocab_size, token_ids.shape, device=token_ids.device, generator=generator
    )
    masked = torch.where(selected & (action < 0.8), mask_token_id, token_ids)
    masked = torch.where(selected & (action >= 0.8) & (action < 0.9), random_tokens, masked)
    return masked, labels
