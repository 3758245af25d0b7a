"""The benchmark's table says each goal met or not from the figures, against the right reference."""

import json

import pytest

from bench import run


def figures(p95: float, hello_ratio: float, insert_ratio: float) -> dict:
    page = {"median_ms": p95 / 2, "p95_ms": p95}
    return {
        "latency": {key: dict(page) for key in ("dashboard", "dashboard_filtered", "episode", "tick")},
        "throughput": {
            "dashboard": {"ok_per_s": 100.0, "ratio_to_floor": hello_ratio},
            "ticks": {"ok_per_s": 100.0, "ratio_to_floor": insert_ratio},
            "hello": {"ok_per_s": 1000.0},
            "insert": {"ok_per_s": 250.0},
        },
        "export": {"seconds": 1.0, "rows": 10, "bytes": 1000, "peak_memory_mb": 90.0, "peak_reset": True},
    }


def verdicts(rows) -> dict[str, str]:
    return {figure: met for figure, _value, goal, met in rows if goal}


def test_at_5000_patients_every_page_and_the_tick_have_a_20_ms_p95_goal_and_both_floors_a_ratio():
    met = verdicts(run.table(figures(19.9, 0.10, 0.40), 5000, "sqlite"))
    assert met == {
        "latency dashboard first page": "met",
        "latency episode page": "met",
        "latency tick (POST, its redirect not followed)": "met",
        "throughput dashboard first page": "met",
        "throughput ticks": "met",
        "CSV export peak memory (MB)": "met",
    }
    missed = verdicts(run.table(figures(20.1, 0.099, 0.39), 5000, "postgresql"))
    assert {k for k, v in missed.items() if v == "NOT met"} == set(met) - {"CSV export peak memory (MB)"}


@pytest.mark.parametrize(("p95", "verdict"), [(24.0, "met"), (24.1, "NOT met")])
def test_at_50000_patients_pages_may_grow_to_1_2_times_their_5000_patient_p95(
    tmp_path, monkeypatch, p95, verdict
):
    monkeypatch.setattr(run, "RESULTS", tmp_path)
    (tmp_path / "sqlite-5000.json").write_text(json.dumps({"figures": figures(20.0, 0.1, 0.4)}))
    met = verdicts(run.table(figures(p95, 0.1, 0.4), 50000, "sqlite"))
    assert met["latency dashboard first page"] == met["latency episode page"] == verdict
    assert "latency tick (POST, its redirect not followed)" not in met  # no growth goal for ticks
