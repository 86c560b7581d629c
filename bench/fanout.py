"""Live trades fanned out to many Socket.IO subscribers through nginx and the web replicas.

A whole stack (tests/stack.py: one API replica, the workers, two web replicas,
nginx). Orders flow through the REST API at a steady rate, each pair crossing
into one trade on one symbol. Subscribers are asyncio websocket clients
spread over a few processes (a minimal aiohttp Socket.IO client by default,
``--client socketio`` for python-socketio's AsyncClient), all on the symbol's
``trades`` channel; a trade's latency is from its journal time (the ``time``
the matcher committed it, in ms) to its arrival at a client. The baseline is
the same flow with a single subscriber, measured first in the same run.

Every delivery due (each trade the flow made, to each connected subscriber) is
accounted for: arrived by the phase's end (its length plus a second), arrived
late (within DRAIN_S after it), or never arrived: lost. The latencies are of
every arrival, late ones included, so ending the phase early flatters nothing.

    python bench/fanout.py [--subscribers 2000] [--processes 2] [--rate 5] [--seconds 15]
"""
from __future__ import annotations

import argparse
import threading
import time

import results
from results import Figure

import common  # noqa: F401  (puts the repository on sys.path)
from common import cpu_line, group_cpu_s, percentile, run_processes, sleep_until

SYMBOL = "KRYP"
DRAIN_S = 5.0  # after the phase: time for deliveries still on their way, told apart from lost ones


def subscriber_process(index: int, start_at: float, queue, base_url: str, shares: list[int], seconds: float,
                       client_kind: str) -> None:
    """``shares[index]`` subscribers in one event loop; reports (deliveries as (trade id, latency ms,
    arrival time), clients connected at the start, those still connected at the phase's end, when
    the phase ended, the CPU seconds this process used in the phase)."""
    import asyncio

    count = shares[index]

    async def run() -> tuple[list[tuple[str, float, float]], int, int, float, float]:
        import aiohttp

        deliveries: list[tuple[str, float, float]] = []
        connected: list = []

        def on_trade(trade: dict) -> None:
            now = time.time()
            deliveries.append((trade["trade_id"], now * 1000 - trade["time"], now))

        # limit=0: every websocket holds a connector slot (100 by default) for good.
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            connect = RawSubscriber(session, base_url, on_trade) if client_kind == "raw" else None
            for batch in range(0, count, 50):
                outcomes = await asyncio.gather(
                    *(asyncio.wait_for(connect.open() if connect else socketio_subscriber(base_url, on_trade), 30)
                      for _ in range(min(50, count - batch))), return_exceptions=True)
                failures = [r for r in outcomes if isinstance(r, Exception)]
                connected += [r for r in outcomes if not isinstance(r, Exception)]
                if failures:
                    print(f"subscriber process {index}: {len(failures)} connections failed: {failures[0]!r}",
                          flush=True)
            # No clearing at the start: a process whose loop wakes late would drop the first trade's
            # deliveries as if lost. Only the trades the flow made are counted (measure()).
            await asyncio.sleep(max(0.0, start_at - time.time()))
            cpu_start = time.process_time()
            await asyncio.sleep(seconds + 1.0)  # the phase, and a second for its last trades' deliveries
            phase_end, alive = time.time(), sum(1 for c in connected if not c.closed)
            cpu_s = time.process_time() - cpu_start
            await asyncio.sleep(DRAIN_S)  # what is still on its way arrives late; what never does is lost
            await asyncio.gather(*(c.close() for c in connected), return_exceptions=True)
        return deliveries, len(connected), alive, phase_end, cpu_s

    queue.put(asyncio.run(run()))


class RawSubscriber:
    """A minimal Socket.IO client over one aiohttp websocket (Engine.IO v4): it
    answers pings and decodes only ``trade`` events, so the subscribers' own
    CPU weighs as little as possible on the figures."""

    def __init__(self, session, base_url: str, on_trade):
        self.session = session
        self.url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.on_trade = on_trade

    async def open(self):
        import asyncio

        ws = await self.session.ws_connect(self.url)
        await ws.receive_str()  # "0{...}": the Engine.IO handshake
        await ws.send_str("40")  # connect to the default namespace
        await ws.receive_str()  # "40{sid}"
        await ws.send_str('42["subscribe",{"symbol":"%s","channels":["trades"]}]' % SYMBOL)
        asyncio.get_running_loop().create_task(self._read(ws))
        return ws

    async def _read(self, ws) -> None:
        import json

        async for message in ws:
            text = message.data
            if text == "2":
                await ws.send_str("3")
            elif text.startswith('42["trade",'):
                self.on_trade(json.loads(text[2:])[1])


async def socketio_subscriber(base_url: str, on_trade):
    import socketio

    class Closable(socketio.AsyncClient):
        @property
        def closed(self) -> bool:
            return not self.connected

        async def close(self) -> None:
            await self.disconnect()

    client = Closable(reconnection=False)
    client.on("trade", on_trade)
    await client.connect(base_url, transports=["websocket"], wait_timeout=30)
    await client.emit("subscribe", {"symbol": SYMBOL, "channels": ["trades"]})
    return client


def order_flow(base_url: str, rate: float, seconds: float, start_at: float, stop: threading.Event) -> set[str]:
    """A seller rests one share and a buyer takes it, ``rate`` times a second; returns the trades' ids."""
    import requests

    session = requests.Session()
    tokens = []
    for role in ("seller", "buyer"):
        resp = session.post(f"{base_url}/api/v1/users", json={"username": f"{role}{time.time_ns() % 10**9}",
                                                              "password": "correct horse"}, timeout=10)
        resp.raise_for_status()
        tokens.append({"Authorization": f"Bearer {resp.json()['token']}"})
    seller, buyer = tokens
    time.sleep(max(0.0, start_at - time.time()))
    trades: set[str] = set()
    deadline, step = time.monotonic() + seconds, 1.0 / rate
    next_at = time.monotonic()
    while time.monotonic() < deadline and not stop.is_set():
        for headers, side in ((seller, "sell"), (buyer, "buy")):
            answer = session.post(f"{base_url}/api/v1/orders", headers=headers, timeout=15,
                                  json={"symbol": SYMBOL, "side": side, "type": "limit", "price": "10.00",
                                        "quantity": 1})
        if answer.headers.get("Content-Type", "").startswith("application/json"):  # not an nginx error page
            trades.update(fill["trade_id"] for fill in answer.json().get("fills", ()))  # the buy's: it took the share
        next_at += step
        time.sleep(max(0.0, next_at - time.monotonic()))
    return trades


def phase_cpu(cpu_of: dict, start_at: float, seconds: float, into: dict) -> None:
    """CPU seconds each group of the stack's processes used from ``start_at`` to the phase's end."""
    sleep_until(start_at)
    before = group_cpu_s(cpu_of)
    sleep_until(start_at + seconds + 1.0)
    after = group_cpu_s(cpu_of)
    into.update({name: after[name] - before[name] for name in cpu_of})


def measure(base_url: str, subscribers: int, processes: int, rate: float, seconds: float, client_kind: str,
            cpu_of: dict) -> dict:
    processes = max(1, min(processes, subscribers))
    shares = [subscribers // processes + (1 if i < subscribers % processes else 0) for i in range(processes)]
    # Connecting a thousand clients takes a while on two cores: start the clock after.
    start_at = time.time() + 5 + subscribers / 100
    made: list[set[str]] = []
    stop = threading.Event()
    flow = threading.Thread(target=lambda: made.append(order_flow(base_url, rate, seconds, start_at, stop)))
    flow.start()
    cpu_s: dict[str, float] = {}
    sampler = threading.Thread(target=phase_cpu, args=(cpu_of, start_at, seconds, cpu_s))
    sampler.start()
    try:
        gathered = run_processes(subscriber_process, len(shares), (base_url, shares, seconds, client_kind),
                                start_at=start_at)
    finally:
        stop.set()
        flow.join()
        sampler.join()
    trades = made[0] if made else set()
    arrivals = [(latency, arrived > phase_end) for deliveries, _connected, _alive, phase_end, _cpu in gathered
                for trade_id, latency, arrived in deliveries if trade_id in trades]
    latencies = sorted(latency for latency, _late in arrivals)
    connected = sum(r[1] for r in gathered)  # at the start: a client that drops later misses what is due it
    late = sum(1 for _latency, was_late in arrivals if was_late)
    return {"subscribers": subscribers, "connected": connected, "alive": sum(r[2] for r in gathered),
            "trades": len(trades),
            "due": len(trades) * connected, "in_phase": len(arrivals) - late, "late": late,
            "lost": len(trades) * connected - len(arrivals), "deliveries": len(arrivals),
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "max": latencies[-1] if latencies else float("nan"),
            # What the machine did per delivery in the phase, the bench's own subscribers included:
            # they share its cores with the stack.
            "cpu_us": {name: 1e6 * s / max(len(arrivals), 1)
                       for name, s in {**cpu_s, "subscribers": sum(r[4] for r in gathered)}.items()},
            "cores_busy": (sum(cpu_s.values()) + sum(r[4] for r in gathered)) / (seconds + 1.0)}


def report(name: str, m: dict) -> None:
    print(f"{name:>9}: {m['connected']:,}/{m['subscribers']:,} subscribers connected ({m['alive']:,} to the end), "
          f"{m['trades']:,} trades made; "
          f"of {m['due']:,} deliveries due, {m['in_phase']:,} arrived in the phase, {m['late']:,} late "
          f"(within {DRAIN_S:g} s after it), {m['lost']:,} never (lost); trade->client latency "
          f"p50 {m['p50']:.1f} ms, p99 {m['p99']:.1f} ms, max {m['max']:.1f} ms", flush=True)
    print(f"    CPU per delivery: {cpu_line(m)}; {m['cores_busy']:.2f} cores busy in the phase (these and the "
          "subscribers)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=2, help="subscriber processes")
    parser.add_argument("--rate", type=float, default=5.0, help="trades per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--web-replicas", type=int, default=2)
    parser.add_argument("--client", choices=("raw", "socketio"), default="raw",
                        help="raw: a minimal aiohttp websocket client; socketio: python-socketio's AsyncClient")
    args = parser.parse_args()

    from tests.stack import start_stack

    with start_stack(replicas=1, web_replicas=args.web_replicas, env={"RATE_LIMIT": ""}) as stack:
        print(f"stack: 1 API replica, {args.web_replicas} web replicas behind nginx; "
              f"{args.rate:g} trades/s on {SYMBOL} for {args.seconds:g}s per phase", flush=True)
        cpu_of = {"web": stack.web, "nginx": [stack.nginx], "api": stack.replicas, "workers": stack.workers,
                  "data": stack.servers}
        baseline = measure(stack.base_url, 1, 1, args.rate, args.seconds, args.client, cpu_of)
        report("baseline", baseline)
        fanned = measure(stack.base_url, args.subscribers, args.processes, args.rate, args.seconds, args.client,
                         cpu_of)
        report("fan-out", fanned)
    results.save("fanout", [Figure(f"deliveries to {fanned['connected']:,} subscribers", fanned["deliveries"] /
                                   args.seconds, "deliveries/s", "to one subscriber", baseline["deliveries"] / args.seconds)],
                 {f"{label}, trade to client": {k: m[k] for k in ("p50", "p99", "max")}
                  for label, m in (("one subscriber", baseline), (f"{args.subscribers:,} subscribers", fanned))},
                 notes={"baseline": baseline, "fan_out": fanned, "client": args.client})


if __name__ == "__main__":
    main()
