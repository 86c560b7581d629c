"""Every bench's figures as JSON in bench/results/, drawn as PNG plots with matplotlib.

A bench calls ``save(name, figures, latencies)``:

- ``figures``: each measured rate beside the baseline measured in the same run (``Figure``);
  the plot ``<name>-rates.png`` draws them side by side with their ratio.
- ``latencies``: {label: {"p50": ms, "p99": ms, ...}}; the plot ``<name>-latency.png`` draws
  each label's percentiles.

``<name>.json`` keeps both, with when and on how many CPUs it ran. The files are the latest
run's (bench/results/ is not versioned); a bench's printed lines stay its report.
"""
from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Figure:
    label: str  # what was measured, e.g. "order path"
    value: float
    unit: str  # e.g. "orders/s"
    baseline_label: str | None = None  # the same-run baseline it is a ratio to
    baseline: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


def save(name: str, figures: list[Figure], latencies: dict[str, dict[str, float]] | None = None,
         notes: dict | None = None) -> Path:
    """Write ``<name>.json`` and its plots into bench/results/; returns the JSON's path."""
    RESULTS.mkdir(exist_ok=True)
    document = {
        "bench": name, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "figures": [{**asdict(figure), "ratio": figure.ratio} for figure in figures],
        "latency_ms": latencies or {}, "notes": notes or {},
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    if figures:
        _plot_rates(name, figures)
    if latencies:
        _plot_latencies(name, latencies)
    print(f"results: {path.relative_to(RESULTS.parent.parent)} and its plots")
    return path


@contextmanager
def progress(description: str, steps: int) -> Iterator:
    """A rich progress bar on stderr for a long bench's phases (nothing when stderr is not a terminal):
    ``with progress("http orders", 4) as step: ...; step("ceiling measured")``."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=steps)

        def step(done: str) -> None:
            bar.update(task, advance=1, description=f"{description}: {done}")

        yield step


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _plot_rates(name: str, figures: list[Figure]) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.8 * len(figures)))
    rows = list(reversed(figures))
    y = range(len(rows))
    ax.barh([i + 0.2 for i in y], [f.value for f in rows], height=0.4, label="measured", color="#2962ff")
    ax.barh([i - 0.2 for i in y], [f.baseline or 0 for f in rows], height=0.4, label="same-run baseline",
            color="#b0bec5")
    for i, figure in zip(y, rows):
        text = f"{figure.value:,.0f} {figure.unit}" + (f"  ({figure.ratio:.2f}x)" if figure.ratio else "")
        ax.text(figure.value, i + 0.2, " " + text, va="center", fontsize=8)
        if figure.baseline:
            ax.text(figure.baseline, i - 0.2, f" {figure.baseline_label}: {figure.baseline:,.0f}", va="center",
                    fontsize=8, color="#455a64")
    ax.set_yticks(list(y), [f.label for f in rows])
    ax.set_xlim(0, 1.45 * max(max(f.value, f.baseline or 0) for f in rows))
    ax.set_title(f"{name}: rates beside their same-run baselines")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.3 / len(figures)), ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}-rates.png", dpi=110)
    plt.close(fig)


def _plot_latencies(name: str, latencies: dict[str, dict[str, float]]) -> None:
    plt = _pyplot()
    labels = list(latencies)
    # p50, p99, ... in order, then any other statistic (max)
    names = {p for values in latencies.values() for p in values}
    percentiles = sorted(names, key=lambda p: float(p[1:]) if p[1:].replace(".", "").isdigit() else float("inf"))
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(len(percentiles), 1)
    for n, percentile in enumerate(percentiles):
        xs = [i + (n - (len(percentiles) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(xs, [latencies[label].get(percentile, 0) for label in labels], width=width, label=percentile)
    ax.set_xticks(range(len(labels)), [label.replace(", ", "\n") for label in labels], fontsize=8)
    ax.set_ylabel("ms")
    ax.set_title(f"{name}: latency percentiles")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}-latency.png", dpi=110)
    plt.close(fig)
