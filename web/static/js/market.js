// Public market data panels: the quote header, the depth ladder, the trade tape.
import { $, clockTime, el } from "./dom.js";
import { fromTicks, shown, toTicks } from "./money.js";

const LADDER_DEPTH = 12;
const TAPE_ROWS = 60;

export function renderQuote(quote) {
  $("#quote-bid").textContent = shown(quote.bid);
  $("#quote-ask").textContent = shown(quote.ask);
  $("#quote-spread").textContent = shown(quote.spread);
  $("#quote-last").textContent = shown(quote.last);
  const change = $("#quote-change");
  change.textContent = shown(quote.change_24h);
  const moved = quote.change_24h ? toTicks(quote.change_24h) : 0;
  change.className = moved < 0 ? "down" : moved > 0 ? "up" : "";
}

export function renderBook(book) {
  const asks = book.levels("asks", LADDER_DEPTH);
  const bids = book.levels("bids", LADDER_DEPTH);
  const largest = Math.max(1, ...asks.map((l) => l.qty), ...bids.map((l) => l.qty));
  const row = (level) => el("tr", { "data-price": level.price },
    el("td", {}, el("span", {}, level.price)),
    el("td", {}, el("div", { class: "depth", style: `width:${(100 * level.qty) / largest}%` }),
       el("span", {}, level.qty)));
  // Asks read downwards to the best ask, just above the spread line.
  $("#book-asks").replaceChildren(...asks.reverse().map(row));
  $("#book-bids").replaceChildren(...bids.map(row));
  const spread = asks.length && bids.length ? toTicks(asks[asks.length - 1].price) - bids[0].ticks : null;
  $("#book-spread").textContent = spread === null ? "—" : `spread ${fromTicks(spread)}`;
}

export class Tape {
  constructor() {
    this.trades = []; // newest first
    this.seen = new Set();
  }

  clear() {
    this.trades = [];
    this.seen = new Set();
    this.render();
  }

  // Recent trades from REST, merged with any that arrived live meanwhile.
  merge(trades) {
    for (const trade of trades) this.add(trade, false);
    this.render();
  }

  add(trade, render = true) {
    if (this.seen.has(trade.trade_id)) return;
    this.seen.add(trade.trade_id);
    this.trades.unshift(trade);
    this.trades.sort((a, b) => b.sequence - a.sequence);
    if (this.trades.length > TAPE_ROWS) this.seen.delete(this.trades.pop().trade_id);
    if (render) this.render();
  }

  render() {
    $("#tape").replaceChildren(...this.trades.map((trade) =>
      el("tr", { class: trade.taker_side, "data-trade-id": trade.trade_id },
         el("td", {}, clockTime(trade.time)), el("td", {}, trade.price), el("td", {}, trade.quantity))));
  }
}
