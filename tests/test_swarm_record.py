"""`bots swarm --record FILE`: every order answered 2xx, with its owner's token; nothing else."""
from __future__ import annotations

import stat

import pytest

from bots.client import ApiError
from bots.record import OrderRecord, RecordingClient, read_orders
from bots.swarm import sign_up


def client_answering(record: OrderRecord, answers: list) -> RecordingClient:
    """A RecordingClient whose requests get ``answers`` in turn (an ApiError is raised)."""
    client = RecordingClient("http://exchange.invalid", record, token="tok-alice")
    client.user_id, client.username = "u1", "alice"

    def request(method, path, **_kwargs):
        answer = answers.pop(0)
        if isinstance(answer, ApiError):
            raise answer
        return answer
    client.request = request
    return client


def test_orders_answered_2xx_are_recorded_with_their_owner_and_refusals_are_not(tmp_path):
    record = OrderRecord(tmp_path / "orders.jsonl")
    client = client_answering(record, [
        {"order_id": "KRYP.1", "symbol": "KRYP", "status": "new"},
        ApiError(422, "insufficient_funds", "not enough"),
        ApiError(502, "http_502", "bad gateway"),
        {"order_id": "KRYP.2", "symbol": "KRYP", "status": "pending"},
    ])
    assert client.place_order("KRYP", "buy", 1, price="1.00")["order_id"] == "KRYP.1"
    for _ in range(2):
        with pytest.raises(ApiError):
            client.place_order("KRYP", "buy", 1000, price="1.00")
    client.place_order("KRYP", "sell", 1, price="2.00")
    record.close()
    assert read_orders(tmp_path / "orders.jsonl") == [
        {"order_id": "KRYP.1", "symbol": "KRYP", "status": "new", "username": "alice", "user_id": "u1",
         "token": "tok-alice"},
        {"order_id": "KRYP.2", "symbol": "KRYP", "status": "pending", "username": "alice", "user_id": "u1",
         "token": "tok-alice"}]
    assert stat.S_IMODE((tmp_path / "orders.jsonl").stat().st_mode) == 0o600  # it holds tokens


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path):
    path = tmp_path / "orders.jsonl"
    path.write_text('{"order_id": "KRYP.1", "token": "t"}\n{"order_id": "KRY')
    assert read_orders(path) == [{"order_id": "KRYP.1", "token": "t"}]


def test_sign_up_retries_an_unreachable_exchange_and_logs_in_if_the_lost_answer_had_registered(monkeypatch):
    monkeypatch.setattr("bots.swarm.time.sleep", lambda _s: None)
    calls = []

    class Flaky:
        def register(self, username, password):
            calls.append("register")
            if len(calls) == 1:
                raise ApiError(0, "connection_error", "reset")  # it did register; the answer was lost
            raise ApiError(409, "username_taken", "taken")

        def login(self, username, password):
            calls.append("login")

    sign_up(Flaky(), "bot", "password")
    assert calls == ["register", "register", "login"]


def test_sign_up_does_not_log_in_over_a_name_someone_else_had_taken():
    class Taken:
        def register(self, username, password):
            raise ApiError(409, "username_taken", "taken")

    with pytest.raises(ApiError):
        sign_up(Taken(), "bot", "password")
