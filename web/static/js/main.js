// The trading page: wires the REST loads, the live feed and the panels together.
import { AccountPanel } from "./account.js";
import { describe, get, session } from "./api.js";
import { DepthBook } from "./book.js";
import { BotsPanel } from "./bots.js";
import { INTERVALS, PriceChart } from "./chart.js";
import { $, el } from "./dom.js";
import { refreshLeaderboard } from "./leaderboard.js";
import { LiveFeed } from "./live.js";
import { Tape, renderBook, renderQuote } from "./market.js";
import { fromTicks } from "./money.js";
import { OrderForm } from "./orderform.js";
import { StatsPanel } from "./stats.js";
import { toast } from "./toast.js";

const SYMBOL_KEY = "exchange.symbol";
const BURST_MS = 200;
const FILLS_SETTLE_MS = 1500; // fills reach the ledger of record a moment after the order event
const BOTS_POLL_MS = 5000;    // a bot's step moves on the runner's clock, not on an event we get
const LEADERBOARD_POLL_MS = 10000;
const LEADERBOARD_AFTER_TRADE_MS = 1000;
const STATS_POLL_MS = 15000; // statistics move with candles: a minute's close, or a second's

const state = { symbol: null, interval: "1m", book: new DepthBook(null) };
const chart = new PriceChart($("#chart"));
const tape = new Tape();
const stats = new StatsPanel();

const live = new LiveFeed({
  connection: (text) => { $("#live-status").textContent = text; },
  status: (status) => renderTradingStatus(status), // the symbol halted or reopened
  book_snapshot: (snapshot) => {
    state.book.loadSnapshot(snapshot);
    renderBook(state.book);
    orderForm.preview(); // a market order's estimate follows the book
  },
  book_update: (update) => {
    const outcome = state.book.applyUpdate(update);
    if (outcome === "applied") {
      renderBook(state.book);
      orderForm.preview();
    } else if (outcome === "gap") live.resubscribe();
  },
  trade: (trade) => {
    tape.add(trade);
    chart.addTrade(trade);
    leaderboardSoon(); // a trade moves the marks
  },
  ticker: renderQuote,
  candle: (candle) => {
    if (candle.interval === "1m") chart.addMinuteCandle(candle);
  },
  order: (event) => {
    if (event?.type === "fill") {
      toast(`Filled: ${event.side} ${event.quantity} ${event.symbol} @ ${event.price} (${event.liquidity})`);
    }
    refreshAccountSoon();
  },
  refused: (error) => account.signOut(`Live updates refused your session: ${error.message}. Please log in again.`),
  // My token was revoked (logged out elsewhere) or expired: the server stopped my order events.
  session_ended: (error) => account.signOut(`Your session ended: ${error.message}. Please log in again.`),
  error: (error) => { $("#live-status").textContent = `live error: ${error.message} (${error.code})`; },
});

const account = new AccountPanel((token) => {
  live.connect(token);
  bots.refresh();
  refreshLeaderboard(); // to mark my row
}, () => {
  showMineOnChart();
  orderForm.preview(); // what is available changed
});

// My open orders and recent fills of the symbol on screen, drawn on the chart.
function showMineOnChart() {
  const mine = (items) => items.filter((item) => item.symbol === state.symbol);
  chart.showMine(mine(account.openOrders), mine(account.recentFills));
}
const bots = new BotsPanel({ signedIn: () => account.signedIn });
const orderForm = new OrderForm({
  symbol: () => state.symbol,
  signedIn: () => account.signedIn,
  placed: () => refreshAccountSoon(),
  available: (asset) => account.balances?.[asset]?.available,
  best: (side) => state.book.levels(side === "buy" ? "bids" : "asks", 1)[0]?.ticks ?? null,
});

// Order events come in bursts (a fill is an event for each order it touches, a bot
// places several): one reload serves a burst, and one more once fills have settled.
let burstTimer = null;
let settleTimer = null;
function refreshAccountSoon() {
  burstTimer ??= setTimeout(() => {
    burstTimer = null;
    account.refresh();
    bots.refresh();
  }, BURST_MS);
  clearTimeout(settleTimer);
  settleTimer = setTimeout(() => account.refresh(), FILLS_SETTLE_MS);
}

let leaderboardTimer = null;
function leaderboardSoon() {
  leaderboardTimer ??= setTimeout(() => {
    leaderboardTimer = null;
    refreshLeaderboard();
  }, LEADERBOARD_AFTER_TRADE_MS);
}

async function loadQuote(symbol) {
  const quote = await get(`/ticker/${symbol}`);
  if (symbol === state.symbol) {
    renderQuote(quote);
    renderTradingStatus(quote);
  }
}

// A halted symbol refuses new orders (cancels still work) until it reopens.
let reopenTimer = null;
function renderTradingStatus(status) {
  if (status.symbol !== state.symbol) return;
  const banner = $("#halt-banner");
  const halted = status.status === "halted";
  banner.hidden = !halted;
  clearTimeout(reopenTimer);
  if (!halted) return;
  const why = status.halt_reason === "circuit_breaker" ? "the price moved too far too fast" : "the operator halted it";
  const until = status.halted_until ? ` until ${new Date(status.halted_until).toLocaleTimeString()}` : "";
  banner.textContent = `Trading in ${status.symbol} is halted${until} (${why}): new orders are refused; cancels still work.`;
  // The reopening comes as a status event; ask again once it is due, in case it was missed.
  if (status.halted_until) reopenTimer = setTimeout(() => loadQuote(status.symbol), status.halted_until - Date.now() + 1000);
}

// The book over REST, shown until the live snapshot (which replaces it) arrives.
async function loadBook(symbol) {
  const book = await get(`/book/${symbol}?depth=50`);
  if (symbol === state.symbol && state.book.sequence === null) {
    state.book.loadSnapshot(book);
    renderBook(state.book);
  }
}

async function loadTrades(symbol) {
  const { trades } = await get(`/trades/${symbol}?limit=60`);
  if (symbol === state.symbol) tape.merge(trades);
}

async function loadChart(symbol, interval) {
  const seconds = INTERVALS[interval];
  const history = (await get(`/candles/${symbol}?interval=${interval}&limit=300`)).candles;
  let minutes = history;
  if (interval !== "1m" && interval !== "1s" && history.length) {
    // The newest bar's own minutes, so live minute candles replace their part exactly.
    const start = history[history.length - 1].start;
    minutes = (await get(`/candles/${symbol}?interval=1m&start=${start}&end=${start + seconds}`)).candles;
  }
  if (symbol === state.symbol && interval === state.interval) chart.load(seconds, history, minutes);
}

function reportLoadError(err) {
  $("#live-status").textContent = `could not load: ${describe(err)}`;
}

function selectSymbol(symbol) {
  state.symbol = symbol;
  state.book = new DepthBook(symbol);
  localStorage.setItem(SYMBOL_KEY, symbol);
  renderBook(state.book);
  tape.clear();
  showMineOnChart();
  live.subscribe(symbol);
  orderForm.sync();
  loadQuote(symbol).catch(reportLoadError);
  loadBook(symbol).catch(reportLoadError);
  loadTrades(symbol).catch(reportLoadError);
  loadChart(symbol, state.interval).catch(reportLoadError);
}

function selectInterval(interval) {
  state.interval = interval;
  for (const button of document.querySelectorAll("[data-interval]")) {
    button.classList.toggle("active", button.dataset.interval === interval);
  }
  loadChart(state.symbol, interval).catch(reportLoadError);
}

async function start() {
  live.connect(session()?.token);
  $("#symbol").addEventListener("change", (event) => selectSymbol(event.target.value));
  for (const button of document.querySelectorAll("[data-interval]")) {
    button.addEventListener("click", () => selectInterval(button.dataset.interval));
  }
  // A click on a book level fills the order form's price.
  $(".ladder").addEventListener("click", (event) => {
    const level = event.target.closest("tr[data-price]");
    if (level) orderForm.setPrice(level.dataset.price);
  });
  account.refresh();
  bots.refresh();
  setInterval(() => {
    if (account.signedIn && !document.hidden) bots.refresh();
  }, BOTS_POLL_MS);
  refreshLeaderboard();
  setInterval(() => {
    if (!document.hidden) refreshLeaderboard();
  }, LEADERBOARD_POLL_MS);
  stats.refresh();
  setInterval(() => {
    if (!document.hidden) stats.refresh();
  }, STATS_POLL_MS);
  try {
    const { symbols } = await get("/symbols");
    if (symbols.length) orderForm.setFees(symbols[0]); // one fee schedule for every symbol
    $("#symbol").replaceChildren(...symbols.map((s) => el("option", { value: s.symbol }, `${s.symbol} — ${s.name}`)));
    const saved = localStorage.getItem(SYMBOL_KEY);
    const symbol = symbols.some((s) => s.symbol === saved) ? saved : symbols[0]?.symbol;
    bots.setSymbols(symbols, symbol);
    if (symbol) {
      $("#symbol").value = symbol;
      selectSymbol(symbol);
    }
  } catch (err) {
    reportLoadError(err);
  }
}

// A hook for tests and the curious: what the chart is drawing right now.
window.exchangeChart = {
  get symbol() { return state.symbol; },
  get interval() { return state.interval; },
  get drawnIntervalS() { return chart.intervalS; }, // the interval of the bars drawn (loaded)
  lastBar() {
    const bar = chart.lastBar;
    return bar && { time: bar.start, open: fromTicks(bar.open), high: fromTicks(bar.high), low: fromTicks(bar.low),
                    close: fromTicks(bar.close), volume: bar.volume, drawn: chart.candles.data().at(-1) ?? null };
  },
  orderLines() {
    return chart.orderLines.map((line) => ({ price: line.options().price, title: line.options().title }));
  },
  fillMarkers() {
    return chart.fillMarkers.markers().map(({ time, position, text }) => ({ time, position, text }));
  },
};

start();
