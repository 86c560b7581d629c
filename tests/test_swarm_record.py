"""`bots swarm --record FILE`: every order answered 2xx, with its owner's token; nothing else."""
from __future__ import annotations

import stat

import pytest

from bots import swarm_accounts
from bots.record import OrderRecord, RecordingClient, read_orders
from bots.swarm import retrying
from exchange_client import ApiError


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


def test_signing_in_retries_an_unreachable_exchange_and_finds_a_registration_whose_answer_was_lost(monkeypatch):
    monkeypatch.setattr("bots.swarm.time.sleep", lambda _s: None)
    calls = []

    class Flaky:
        def login(self, username, password):
            calls.append("login")
            if calls.count("register") == 0:
                raise ApiError(401, "invalid_credentials", "no such user")

        def register(self, username, password):
            calls.append("register")
            raise ApiError(0, "connection_error", "reset")  # it did register; the answer was lost

    registered_now = retrying(lambda: swarm_accounts.sign_in(Flaky(), "bot", "password"))
    assert calls == ["login", "register", "login"] and registered_now is False


def test_retrying_waits_out_an_outage_but_not_a_refusal(monkeypatch):
    slept = []
    monkeypatch.setattr("bots.swarm.time.sleep", slept.append)
    answers = [ApiError(0, "connection_error", "refused"), ApiError(500, "error", "loading"), {"ok": True}]

    def flaky():
        answer = answers.pop(0)
        if isinstance(answer, ApiError):
            raise answer
        return answer

    assert retrying(flaky) == {"ok": True} and len(slept) == 2 and slept[1] > slept[0]

    def refused():
        raise ApiError(409, "username_taken", "taken")

    with pytest.raises(ApiError):
        retrying(refused)
    assert len(slept) == 2

    def down():
        raise ApiError(502, "http_502", "bad gateway")

    with pytest.raises(ApiError):
        retrying(down, retry_for_s=0.0)
