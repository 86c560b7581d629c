"""bench/results.py: a bench's figures as JSON beside its same-run baselines, and its PNG plots."""
from __future__ import annotations

import json

from bench import results
from bench.results import Figure

PNG = b"\x89PNG\r\n\x1a\n"


def test_figures_and_latencies_are_kept_as_json_and_drawn(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS", tmp_path)
    figures = [Figure("order path", 1100.0, "orders/s", "one-Redis-call endpoint", 2500.0),
               Figure("whole stack", 850.0, "orders/s", "one-Redis-call endpoint", 2500.0)]
    latencies = {"order path, 16 conn": {"p50": 14.0, "p99": 80.5, "max": 120.0}, "ceiling, 16 conn": {"p50": 6.0}}
    path = results.save("demo", figures, latencies, notes={"replicas": 2})
    saved = json.loads(path.read_text())
    assert [(f["label"], f["value"], f["baseline"], f["ratio"]) for f in saved["figures"]] == [
        ("order path", 1100.0, 2500.0, 0.44), ("whole stack", 850.0, 2500.0, 0.34)]
    assert saved["latency_ms"] == latencies and saved["notes"] == {"replicas": 2}
    assert saved["machine"]["cpus"] >= 1 and saved["time"].endswith("Z")
    for plot in ("demo-rates.png", "demo-latency.png"):
        assert (tmp_path / plot).read_bytes()[:8] == PNG


def test_a_figure_without_a_baseline_has_no_ratio_and_no_latency_plot(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS", tmp_path)
    results.save("alone", [Figure("rate", 10.0, "orders/s")])
    assert json.loads((tmp_path / "alone.json").read_text())["figures"][0]["ratio"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone-rates.png", "alone.json"]
