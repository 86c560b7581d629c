"""Query strings: ASCII digits only, in range, else 400 invalid_parameter naming the parameter."""
from __future__ import annotations

import pytest

# (path, parameter, needs a token)
NUMERIC_PARAMETERS = [
    ("/api/v1/book/KRYP", "depth", False),
    ("/api/v1/trades/KRYP", "limit", False),
    ("/api/v1/leaderboard", "limit", False),
    ("/api/v1/candles/KRYP", "start", False),
    ("/api/v1/candles/KRYP", "end", False),
    ("/api/v1/candles/KRYP", "limit", False),
    ("/api/v1/orders", "limit", True),
    ("/api/v1/fills", "limit", True),
]
# str.isdigit() takes the first three and int() the third; the rest are digits with something around them.
NOT_ASCII_DIGITS = ["²", "①", "٣", "１", " 5", "5 ", "+5", "5\n", "1_0", "0x10", "", "5.0", "-0"]


def assert_invalid_parameter(response, name: str) -> None:
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True))
    error = response.json["error"]
    assert error["code"] == "invalid_parameter" and error["message"].startswith(f"{name} "), error


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS, ids=[repr(raw) for raw in NOT_ASCII_DIGITS])
@pytest.mark.parametrize("path, name, authenticated", NUMERIC_PARAMETERS,
                         ids=[f"{path.split('/')[3]}-{name}" for path, name, _ in NUMERIC_PARAMETERS])
def test_a_number_that_is_not_plain_ascii_digits_is_an_invalid_parameter(client, register, path, name,
                                                                         authenticated, raw):
    headers = register("alice", "correct horse") if authenticated else {}
    assert_invalid_parameter(client.get(path, query_string={name: raw}, headers=headers), name)


@pytest.mark.parametrize("path, name, value", [
    ("/api/v1/book/KRYP", "depth", "0"), ("/api/v1/book/KRYP", "depth", "501"),
    ("/api/v1/trades/KRYP", "limit", "0"), ("/api/v1/leaderboard", "limit", "10001"),
    ("/api/v1/candles/KRYP", "limit", "5000"), ("/api/v1/candles/KRYP", "end", "100000000001"),
    ("/api/v1/candles/KRYP", "start", "-5"), ("/api/v1/candles/KRYP", "interval", "2m"),
    ("/api/v1/book/KRYP", "depth", "9" * 5000),
])
def test_an_out_of_range_value_is_an_invalid_parameter(client, path, name, value):
    assert_invalid_parameter(client.get(path, query_string={name: value}), name)


def test_order_and_fill_queries_are_checked_too(client, register):
    alice = register("alice", "correct horse")
    assert_invalid_parameter(client.get("/api/v1/orders?status=weird", headers=alice), "status")
    assert_invalid_parameter(client.get("/api/v1/orders?limit=1001", headers=alice), "limit")
    assert_invalid_parameter(client.get("/api/v1/fills?limit=0", headers=alice), "limit")


def test_plain_digits_in_range_are_taken(client, register):
    alice = register("alice", "correct horse")
    assert client.get("/api/v1/book/KRYP?depth=0007").json["bids"] == []
    assert client.get("/api/v1/trades/KRYP?limit=1000").json["trades"] == []
    assert client.get("/api/v1/candles/KRYP?start=0&end=600&limit=3").json["candles"] == []
    assert client.get("/api/v1/orders?status=all&limit=1", headers=alice).json["orders"] == []
    assert client.get("/api/v1/fills?limit=1", headers=alice).json["fills"] == []
    assert len(client.get("/api/v1/leaderboard?limit=1").json["leaderboard"]) == 1
