"""Journal faults: what the ledger of record found when a symbol's journal stopped continuing
what it applied (Redis lost data). Set by ``ledger.consumer``, read by the API's health check
and ``python -m ledger check``, cleared by ``python -m ledger recover``."""
from __future__ import annotations

import orjson
import redis

from exchange import keys


def journal_faults(client: redis.Redis, symbols: tuple[str, ...]) -> dict[str, str]:
    """{symbol: what was found} for every symbol whose ledger of record stopped."""
    pipe = client.pipeline(transaction=False)
    for symbol in symbols:
        pipe.get(keys.journal_fault(symbol))
    return {symbol: orjson.loads(raw)["fault"] for symbol, raw in zip(symbols, pipe.execute()) if raw}
