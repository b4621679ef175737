"""The comparison benchmark's rows (scripts/benchmarks/comparison_rows.py): every row it can run
has a grid in every setting it runs in, without training anything."""

import pytest

from scripts.benchmarks.comparison_rows import RATES, ROWS, grid

SETTINGS = list(RATES)


def runs_in(row):
    return [setting for setting in SETTINGS if ROWS[row].get("only", setting) == setting]


@pytest.mark.parametrize("row", [row for row in ROWS if ROWS[row]["kind"] != "untrained"])
def test_every_trained_row_has_a_grid_wherever_it_runs(row):
    for setting in runs_in(row):
        points = grid(setting, row, smoke=False)
        assert points, (row, setting)
        assert all(point["lr"] > 0 for point in points)
        assert len({str(sorted(point.items())) for point in points}) == len(points)
        assert grid(setting, row, smoke=True) == points[: 2 if row == "declutr_best" else 1]


def test_rates_by_setting_name_only_known_settings():
    for row, spec in ROWS.items():
        rates = spec.get("rates", [])
        if isinstance(rates, dict):
            assert set(rates) <= set(SETTINGS), row
            assert set(runs_in(row)) <= set(rates), f"{row} runs where it has no rate"


def test_a_setting_only_row_says_why_or_needs_a_base_from_scratch():
    for row, spec in ROWS.items():
        if "only" in spec:
            assert spec["only"] in SETTINGS, row
            assert spec["kind"] == "untrained" or "why" in spec, row


def test_peer_rows_are_never_probes_and_the_paper_row_has_no_options():
    # The final table compares the paper's configuration, untouched, with the peers' recipes.
    assert "options" not in ROWS["declutr_paper"]
    assert {ROWS[row]["method"] for row in ROWS if ROWS[row]["kind"] == "peer"} == {
        "simcse",
        "tsdae",
    }
    assert not any(ROWS[row].get("probe") for row in ROWS if ROWS[row]["kind"] == "peer")
