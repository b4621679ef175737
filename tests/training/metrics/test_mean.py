import pytest
import torch

from declutr.training.metrics import Mean


def test_the_mean_skips_calls_without_a_value():
    # Given the values 1 and 4, and a call without a value (an empty batch) between them
    mean = Mean()
    mean(torch.tensor(1.0))
    mean(None)
    mean(torch.tensor(4.0))
    # Then the mean is that of the two values, and a reset forgets them
    assert mean.get_metric(reset=True) == pytest.approx(2.5)
    assert mean.get_metric() == 0.0
