"""Prometheus metrics: every process of a stack serves /metrics; the API replicas' counts (several
worker processes each, multiprocess mode) add up to what was done; lag is a subtraction that
returns to 0 once the workers catch up."""
from __future__ import annotations

from collections import defaultdict

import requests
import socketio
from prometheus_client.parser import text_string_to_metric_families

from tests.polling import wait_for
from tests.stack import start_stack

ORDERS = 12


def scrape(port: int) -> dict[str, list]:
    """{sample name: [(labels, value), ...]} of one /metrics."""
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, list] = defaultdict(list)
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def total(samples: dict[str, list], name: str, **labels) -> float:
    return sum(value for found, value in samples.get(name, []) if labels.items() <= found.items())


def test_every_process_counts_what_it_did():
    with start_stack(replicas=2, web_replicas=1) as stack:
        assert set(stack.metrics) == {"orderbook-1", "orderbook-2", "matcher", "ledger-worker", "ticker",
                                      "bot-runner", "web-1"}
        token = requests.post(f"{stack.base_url}/api/v1/users", timeout=10,
                              json={"username": "counted", "password": "correct horse"}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for n in range(ORDERS):  # buys and sells at one price: every second one trades
            side = "buy" if n % 2 else "sell"
            placed = requests.post(f"{stack.base_url}/api/v1/orders", headers=headers, timeout=10, json={
                "symbol": "KRYP", "side": side, "price": "5.00", "quantity": 1, "self_trade": "cancel_taker"})
            assert placed.status_code == 201
        refused = requests.post(f"{stack.base_url}/api/v1/orders", headers=headers, timeout=10,
                                json={"symbol": "KRYP", "side": "buy", "price": "1000.00", "quantity": 100})
        assert refused.status_code == 422
        live = socketio.Client()
        live.connect(stack.base_url, transports=["websocket"], socketio_path="socket.io")
        try:
            live.emit("subscribe", {"symbol": "KRYP", "channels": ["book", "trades"]})
            api = [scrape(stack.metrics[f"orderbook-{n}"]) for n in (1, 2)]
            assert sum(total(s, "exchange_orders_total", type="limit", time_in_force="GTC") for s in api) == ORDERS
            assert sum(total(s, "exchange_order_results_total", result="insufficient_funds") for s in api) == 1
            assert sum(total(s, "exchange_order_seconds_count") for s in api) == ORDERS
            assert sum(total(s, "exchange_http_requests_total", route="/api/v1/orders", method="POST",
                             status="201") for s in api) == ORDERS
            web = wait_for(lambda: (s := scrape(stack.metrics["web-1"]))
                           and total(s, "exchange_web_subscriptions_total") == 2 and s, "the subscriptions counted")
            assert total(web, "exchange_web_clients") == 1
        finally:
            live.disconnect()

        def caught_up() -> bool:
            journal = max(total(scrape(stack.metrics[name]), "exchange_journal_sequence", symbol="KRYP")
                          for name in ("matcher", "orderbook-1", "orderbook-2"))
            ledger, ticker = scrape(stack.metrics["ledger-worker"]), scrape(stack.metrics["ticker"])
            applied = [total(ledger, "exchange_applied_sequence", symbol="KRYP", consumer=consumer)
                       for consumer in ("live_accounts", "ledger_of_record")]
            applied.append(total(ticker, "exchange_applied_sequence", symbol="KRYP", consumer="candles"))
            return journal > 0 and all(journal - sequence == 0 for sequence in applied)
        wait_for(caught_up, "the ledger's and the ticker's lag back to 0")
        matcher = scrape(stack.metrics["matcher"])
        assert total(matcher, "exchange_matcher_batches_total", symbol="KRYP") > 0
        assert total(matcher, "exchange_matcher_commit_seconds_count") > 0
        assert "heartbeat" not in stack.metrics  # one endpoint per process, nothing else
