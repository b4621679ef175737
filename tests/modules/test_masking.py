import torch

from declutr.modules.masking import IGNORE_INDEX, mask_tokens

MASK_ID, VOCAB_SIZE = 4, 1000


def test_masking_statistics_and_exclusions():
    # Given a large batch where padding and special tokens are not maskable
    generator = torch.Generator().manual_seed(0)
    token_ids = torch.randint(5, VOCAB_SIZE, (256, 128), generator=generator)
    maskable = torch.ones_like(token_ids, dtype=torch.bool)
    maskable[:, 0] = maskable[:, -1] = False  # special tokens
    maskable[:, 100:] = False  # padding
    original = token_ids.clone()
    # When 15% are masked
    masked, labels = mask_tokens(token_ids, maskable, MASK_ID, VOCAB_SIZE, 0.15, generator)
    selected = labels != IGNORE_INDEX
    # Then ~15% of maskable tokens are selected, and no other token
    assert not selected[~maskable].any()
    rate = selected.sum().item() / maskable.sum().item()
    assert abs(rate - 0.15) < 0.01
    # And of the selected, ~80% become <mask>, ~10% a random token, ~10% stay unchanged
    became_mask = (masked == MASK_ID) & selected
    unchanged = (masked == original) & selected
    random_token = selected & ~became_mask & ~unchanged
    num_selected = selected.sum().item()
    assert abs(became_mask.sum().item() / num_selected - 0.8) < 0.02
    assert abs(unchanged.sum().item() / num_selected - 0.1) < 0.02
    assert abs(random_token.sum().item() / num_selected - 0.1) < 0.02
    # And labels hold the original ids where selected; unselected tokens are untouched
    assert torch.equal(labels[selected], original[selected])
    assert torch.equal(masked[~selected], original[~selected])
    assert torch.equal(token_ids, original)


def test_masking_is_reproducible_with_a_generator():
    token_ids = torch.randint(5, VOCAB_SIZE, (4, 32), generator=torch.Generator().manual_seed(0))
    maskable = torch.ones_like(token_ids, dtype=torch.bool)
    first = mask_tokens(
        token_ids, maskable, MASK_ID, VOCAB_SIZE, 0.3, torch.Generator().manual_seed(1)
    )
    second = mask_tokens(
        token_ids, maskable, MASK_ID, VOCAB_SIZE, 0.3, torch.Generator().manual_seed(1)
    )
    assert all(torch.equal(a, b) for a, b in zip(first, second))
