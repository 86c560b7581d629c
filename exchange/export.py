"""python -m exchange.export trades|fills|orders|events|candles --out FILE [--symbol S] [--user ID]
[--start T] [--end T] [--format csv|parquet]

Streams one history from MongoDB (the ledger of record and the archive) to a
CSV or Parquet file, oldest first, in constant memory: documents are read in
batches and written as they come (Parquet a row group at a time, with pyarrow).
Money stays integer: prices and fees in cents (ticks of $0.01), quantities in
shares, times in epoch milliseconds (a candle's start in epoch seconds). T is
epoch milliseconds or an ISO 8601 time (UTC unless it says otherwise). On a
terminal it shows a progress bar.

Orders are those that left Redis (done, ORDER_ARCHIVE_AFTER_S after they
ended); events are every journal event the archive holds.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson
from pymongo.database import Database

from exchange import journal, mongo, trade_fills
from exchange.config import Settings

ROWS_PER_WRITE = 10_000


@dataclass(frozen=True)
class Kind:
    collection: str
    time_field: str  # what --start/--end bound, and the order rows come in
    columns: tuple[tuple[str, str], ...]  # (name, type: int | str)
    row: Callable[[dict], tuple]


def _trade(doc: dict) -> tuple:
    return (doc["_id"], doc["symbol"], doc.get("epoch"), doc["sequence"], doc["time"], doc["price"], doc["quantity"],
            doc["taker_side"], doc["buy_order_id"], doc["sell_order_id"], doc["buyer_id"], doc["seller_id"],
            doc["buyer_fee"], doc["seller_fee"])


def fill_row(doc: dict) -> tuple:
    return (doc["trade_id"], doc["order_id"], doc["user_id"], doc["symbol"], doc["side"], doc["time"],
            doc["sequence"], doc["price"], doc["quantity"], doc["fee"], doc["liquidity"])


def _order(doc: dict) -> tuple:
    return (doc["_id"], doc["user_id"], doc["symbol"], doc["side"], doc["type"], doc["price"], doc.get("stop_price"),
            doc["quantity"],
            doc["filled_quantity"], doc["remaining_quantity"], doc["status"], doc.get("reason"),
            doc["time_in_force"], doc["created_ms"], doc["updated_ms"], doc.get("fees", 0))


def _candle(doc: dict) -> tuple:
    return tuple(doc[name] for name in ("symbol", "start", "open", "high", "low", "close", "volume", "trades"))


def _event(doc: dict) -> tuple:
    """An archived event read through the journal's contract, written back as its plain document."""
    event = journal.from_document(doc)
    return (event.symbol, event.epoch, event.sequence, event.time, event.type.value,
            orjson.dumps(journal.as_document(event)).decode())


def _int(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, "int") for name in names)


def _str(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, "str") for name in names)


FILL_COLUMNS = (*_str("trade_id", "order_id", "user_id", "symbol", "side"), *_int("time", "sequence", "price_cents",
                "quantity", "fee_cents"), *_str("liquidity"))
KINDS = {
    "trades": Kind(mongo.TRADES, "time", (*_str("trade_id", "symbol"), *_int(
        "epoch", "sequence", "time", "price_cents", "quantity"), *_str(
        "taker_side", "buy_order_id", "sell_order_id", "buyer_id", "seller_id"), *_int(
        "buyer_fee_cents", "seller_fee_cents")), _trade),
    "fills": Kind(mongo.TRADES, "time", FILL_COLUMNS, fill_row),  # out of the trades (exchange.trade_fills)
    "orders": Kind(mongo.ORDERS, "created_ms", (*_str("order_id", "user_id", "symbol", "side", "type"), *_int(
        "price_cents", "stop_price_cents", "quantity", "filled_quantity", "remaining_quantity"), *_str("status", "reason",
        "time_in_force"), *_int("created_ms", "updated_ms", "fees_cents")), _order),
    "candles": Kind(mongo.CANDLES, "start", (*_str("symbol"), *_int(
        "start", "open_cents", "high_cents", "low_cents", "close_cents", "volume", "trades")), _candle),
    "events": Kind(mongo.EVENTS, "time", (*_str("symbol"), *_int("epoch", "sequence", "time"), *_str(
        "type", "event")), _event),
}


def documents(db: Database, kind: str, symbol: str | None, start: int | None, end: int | None,
              user_id: str | None = None, counted: bool = True) -> tuple[int | None, Iterator]:
    """(how many (None unless ``counted``), the documents oldest first) of one history; events come
    out of their buckets, fills out of their trades."""
    spec = KINDS[kind]
    bounds = {**({"$gte": start} if start is not None else {}), **({"$lt": end} if end is not None else {})}
    user_field = "user_ids" if kind == "fills" else "user_id"  # a trade names both its users
    query: dict = {**({"symbol": symbol} if symbol else {}), **({user_field: user_id} if user_id else {})}
    if kind == "events":
        return _events(db[spec.collection], query, start, end, counted)
    if bounds:
        query[spec.time_field] = bounds
    if kind == "fills":
        return _fills(db[spec.collection], query, user_id, counted)
    found = db[spec.collection].find(query, batch_size=5000).sort([(spec.time_field, 1), ("_id", 1)])
    return db[spec.collection].count_documents(query) if counted else None, iter(found)


def _events(collection, query: dict, start: int | None, end: int | None, counted: bool) -> tuple[int | None, Iterator]:
    """Buckets: those that overlap the range are read, then their events filtered."""
    if start is not None:
        query["last_time"] = {"$gte": start}
    if end is not None:
        query["first_time"] = {"$lt": end}
    found = collection.find(query, batch_size=500).sort([("symbol", 1), ("epoch", 1), ("first_sequence", 1)])
    total = sum(len(b["events"]) for b in collection.find(query, {"events.sequence": 1})) if counted else None
    return total, (e for bucket in found for e in bucket["events"]
                   if (start is None or e["time"] >= start) and (end is None or e["time"] < end))


def _fills(trades, query: dict, user_id: str | None, counted: bool) -> tuple[int | None, Iterator]:
    """Each trade's fills (the user's, or both sides), in (time, trade id, side) order."""
    total = None
    if counted:  # a self-trade is two fills of its user
        both = {**query, "buyer_id": user_id, "seller_id": user_id} if user_id is not None else query
        total = trades.count_documents(query) + trades.count_documents(both)
    found = trades.find(query, batch_size=5000).sort([("time", 1), ("_id", 1)])
    return total, (fill for trade in found for fill in trade_fills.fills_of(trade, user_id))


def csv_chunks(kind: Kind, rows: Iterator[tuple], advance: Callable[[int], None] = lambda _n: None) -> Iterator[str]:
    """The CSV text, header first, ROWS_PER_WRITE rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _type in kind.columns])
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending == ROWS_PER_WRITE:
            yield _drain(buffer)
            advance(pending)
            pending = 0
    yield _drain(buffer)
    advance(pending)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def write_parquet(path: str, kind: Kind, rows: Iterator[tuple], advance: Callable[[int], None]) -> int:
    """Row groups of ROWS_PER_WRITE rows; returns how many rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.int64() if kind_ == "int" else pa.string()) for name, kind_ in kind.columns])
    written, batch = 0, []
    with pq.ParquetWriter(path, schema) as writer:
        for row in rows:
            batch.append(row)
            if len(batch) == ROWS_PER_WRITE:
                written += _flush(writer, schema, batch, advance)
        written += _flush(writer, schema, batch, advance)
    return written


def _flush(writer, schema, batch: list[tuple], advance: Callable[[int], None]) -> int:
    import pyarrow as pa

    if not batch:
        return 0
    columns = list(zip(*batch))
    writer.write_table(pa.table([pa.array(column, type=field.type) for column, field in zip(columns, schema)],
                                schema=schema))
    count = len(batch)
    batch.clear()
    advance(count)
    return count


def parse_time(raw: str) -> int:
    """Epoch milliseconds, or an ISO 8601 time (UTC unless it says otherwise), as epoch ms."""
    if raw.isdigit():
        return int(raw)
    when = datetime.fromisoformat(raw)
    return int((when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp() * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m exchange.export", description=__doc__.split("\n\n")[1])
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--out", required=True, help="the file to write")
    parser.add_argument("--format", choices=("csv", "parquet"), default=None, help="default: from --out's suffix")
    parser.add_argument("--symbol", default=None)
    parser.add_argument("--user", default=None, help="fills and orders: only this user id's")
    parser.add_argument("--start", type=parse_time, default=None, help="epoch ms or ISO 8601, inclusive")
    parser.add_argument("--end", type=parse_time, default=None, help="epoch ms or ISO 8601, exclusive")
    args = parser.parse_args(argv)
    fmt = args.format or ("parquet" if args.out.endswith(".parquet") else "csv")
    start, end = args.start, args.end
    if args.kind == "candles":  # a candle's start is in epoch seconds
        start, end = (None if t is None else t // 1000 for t in (start, end))
    settings = Settings.from_env()
    total, docs = documents(mongo.database(settings.mongo_url, settings.mongo_db), args.kind,
                            args.symbol.upper() if args.symbol else None, start, end, args.user)
    spec = KINDS[args.kind]
    written = 0
    with progress(total, f"{args.kind} -> {args.out}") as show:
        def advance(rows: int) -> None:
            nonlocal written
            written += rows
            show(rows)

        rows = (spec.row(doc) for doc in docs)
        if fmt == "csv":
            with open(args.out, "w", newline="") as out:
                out.writelines(csv_chunks(spec, rows, advance))
        else:
            write_parquet(args.out, spec, rows, advance)
    print(f"{written:,} {args.kind} written to {args.out} ({fmt})", file=sys.stderr)
    return 0


def progress(total: int | None, label: str):
    """A context giving advance(n): a rich progress bar on a terminal, nothing otherwise."""
    from contextlib import contextmanager, nullcontext

    if not sys.stderr.isatty():
        return nullcontext(lambda _n: None)

    @contextmanager
    def bar():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True)) as shown:
            task = shown.add_task(label, total=total)
            yield lambda n: shown.advance(task, n)
    return bar()


if __name__ == "__main__":
    sys.exit(main())
