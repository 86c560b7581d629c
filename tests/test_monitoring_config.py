"""The monitoring profile's files agree with the code: every series the dashboard queries is one
exchange/metrics.py exports, Prometheus scrapes every compose service that runs the exchange's
code, and the compose profile mounts what exists."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import Counter, Gauge, Histogram

from exchange import metrics

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "monitoring"


def exported_series() -> set[str]:
    """The sample names exchange/metrics.py's metrics expose."""
    names = set()
    for metric in vars(metrics).values():
        if isinstance(metric, Counter):
            names |= {f"{metric._name}_total", f"{metric._name}_created"}
        elif isinstance(metric, Histogram):
            names |= {f"{metric._name}_{part}" for part in ("bucket", "count", "sum", "created")}
        elif isinstance(metric, Gauge):
            names.add(metric._name)
    return names


def test_the_dashboard_queries_only_series_that_exist():
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "exchange.json").read_text())
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\bexchange_[a-z_]+", target["expr"])}
    assert queried and queried <= exported_series(), queried - exported_series()
    covered = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in queried}
    assert covered == {metric._name for metric in vars(metrics).values()
                       if isinstance(metric, (Counter, Gauge, Histogram))}, "a metric no panel shows"


def test_prometheus_scrapes_every_service_of_the_exchange():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    ours = {name for name, service in services.items() if service.get("image") == "exchange-app"}
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    scraped = {name for job in config["scrape_configs"] for sd in job["dns_sd_configs"] for name in sd["names"]}
    assert scraped == ours
    assert all(services[name]["environment"]["METRICS_PORT"] == "9100" for name in ours)
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]
        for volume in services[name]["volumes"]:
            assert (ROOT / volume.split(":")[0]).exists(), volume
