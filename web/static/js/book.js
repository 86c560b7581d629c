// The live depth book of one symbol: a snapshot, then deltas applied in
// sequence. A delta whose prev_sequence is not the last applied sequence means
// one was missed: the caller resubscribes for a fresh snapshot.
import { toTicks } from "./money.js";

const SIDES = { bid: "bids", buy: "bids", ask: "asks", sell: "asks" };

export class DepthBook {
  constructor(symbol) {
    this.symbol = symbol;
    this.sequence = null;
    this.bids = new Map(); // price string -> quantity
    this.asks = new Map();
  }

  loadSnapshot(snapshot) {
    this.sequence = snapshot.sequence;
    this.bids = new Map(snapshot.bids.map(([price, qty]) => [price, qty]));
    this.asks = new Map(snapshot.asks.map(([price, qty]) => [price, qty]));
  }

  // "applied"; "ignored" (already in the snapshot, or no snapshot yet); "gap"
  // (an update was missed: the book waits for a new snapshot).
  applyUpdate(update) {
    if (this.sequence === null || update.sequence <= this.sequence) return "ignored";
    if (update.prev_sequence !== this.sequence) {
      this.sequence = null;
      return "gap";
    }
    for (const [side, price, qty] of update.changes) {
      const levels = this[SIDES[side]];
      if (!levels) continue;
      if (Number(qty) === 0) levels.delete(price);
      else levels.set(price, Number(qty));
    }
    this.sequence = update.sequence;
    return "applied";
  }

  // Best first: highest bid, lowest ask.
  levels(side, depth) {
    const entries = [...this[side].entries()].map(([price, qty]) => ({ price, qty, ticks: toTicks(price) }));
    entries.sort((a, b) => (side === "bids" ? b.ticks - a.ticks : a.ticks - b.ticks));
    return entries.slice(0, depth);
  }
}
