// Candlesticks with volume, drawn by TradingView's lightweight-charts (v5).
// History comes from GET /candles at the chosen interval; live 1m candles and
// trades are folded into the interval's last bar. Times are epoch seconds (UTC).
// The signed-in user's open orders are dashed price lines, their fills markers.
import {
  CandlestickSeries, HistogramSeries, LineStyle, createChart, createSeriesMarkers,
} from "/vendor/lightweight-charts.mjs";
import { toTicks } from "./money.js";

export const INTERVALS = { "1s": 1, "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400 };
const UP = "#26a69a";
const DOWN = "#ef5350";

// One bar from minute candles {start, open, high, low, close, volume} (ticks).
function fold(minutes, start) {
  const sorted = [...minutes].sort((a, b) => a.start - b.start);
  return {
    start,
    open: sorted[0].open,
    high: Math.max(...sorted.map((m) => m.high)),
    low: Math.min(...sorted.map((m) => m.low)),
    close: sorted[sorted.length - 1].close,
    volume: sorted.reduce((sum, m) => sum + m.volume, 0),
  };
}

function inTicks(candle) {
  return { start: candle.start, open: toTicks(candle.open), high: toTicks(candle.high),
           low: toTicks(candle.low), close: toTicks(candle.close), volume: Number(candle.volume) };
}

export class PriceChart {
  constructor(container) {
    this.chart = createChart(container, {
      autoSize: true,
      // attributionLogo stays on: TradingView's license asks for the link.
      layout: { attributionLogo: true, background: { color: "#ffffff" }, textColor: "#1f2933" },
      grid: { vertLines: { color: "#eef1f4" }, horzLines: { color: "#eef1f4" } },
      // Room on the right so the live bar is never under the price scale.
      timeScale: { timeVisible: true, secondsVisible: false, rightOffset: 6, barSpacing: 9 },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
    });
    this.candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
    // Volume on a scale of its own, with no label or line on the price axis: a share count is not a price.
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceFormat: { type: "volume" }, priceScaleId: "volume", lastValueVisible: false, priceLineVisible: false,
    });
    this.volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
    this.intervalS = 60;
    this.orderLines = [];    // price lines of my open orders
    this.fillMarkers = createSeriesMarkers(this.candles, []);
    this.myFills = [];
    this.lastBar = null;     // the newest bar drawn, in ticks
    this.minutes = new Map(); // minute start -> minute candle of the newest bar's bucket
  }

  // history: candles from GET /candles at `intervalS`; minutes: 1m candles of
  // the newest bucket, so live minutes replace their own part of it exactly.
  load(intervalS, history, minutes) {
    this.intervalS = intervalS;
    this.chart.applyOptions({ timeScale: { secondsVisible: intervalS < 60 } });
    const bars = history.map(inTicks);
    this.candles.setData(bars.map((bar) => this.#candleData(bar)));
    this.volume.setData(bars.map((bar) => this.#volumeData(bar)));
    this.lastBar = bars.length ? bars[bars.length - 1] : null;
    this.minutes = new Map();
    if (this.lastBar) {
      for (const minute of minutes.map(inTicks)) {
        if (this.#bucket(minute.start) === this.lastBar.start) this.minutes.set(minute.start, minute);
      }
    }
    this.#drawFills();
    this.chart.timeScale().scrollToRealTime();
  }

  // My open orders of the symbol on screen, each a dashed line at its price (an untriggered stop
  // at its stop price), and my fills as arrows on their bars: below for a buy, above for a sell.
  showMine(orders, fills) {
    for (const line of this.orderLines) this.candles.removePriceLine(line);
    this.orderLines = orders.filter((order) => order.price || order.stop_price).map((order) => {
      const stop = order.status === "untriggered";
      return this.candles.createPriceLine({
        price: toTicks(stop ? order.stop_price : order.price) / 100, color: order.side === "buy" ? UP : DOWN,
        lineStyle: stop ? LineStyle.Dotted : LineStyle.Dashed, lineWidth: 1, axisLabelVisible: true,
        title: `${stop ? "stop " : ""}${order.side} ${order.quantity - order.filled_quantity}`,
      });
    });
    this.myFills = fills;
    this.#drawFills();
  }

  #drawFills() {
    const markers = this.myFills.map((fill) => ({
      time: this.#bucket(Math.floor(fill.time / 1000)), position: fill.side === "buy" ? "belowBar" : "aboveBar",
      color: fill.side === "buy" ? UP : DOWN, shape: fill.side === "buy" ? "arrowUp" : "arrowDown",
      text: `${fill.side === "buy" ? "B" : "S"} ${fill.quantity} @ ${fill.price}`,
    }));
    this.fillMarkers.setMarkers(markers.sort((a, b) => a.time - b.time));
  }

  // A live 1m candle: it is authoritative for its minute.
  addMinuteCandle(candle) {
    if (this.intervalS >= 60) this.#updateMinute(inTicks(candle));
  }

  #updateSecond(bar) {
    if (this.lastBar && bar.start < this.lastBar.start) return; // older than what is drawn
    this.lastBar = bar;
    this.candles.update(this.#candleData(bar));
    this.volume.update(this.#volumeData(bar));
  }

  // A live trade moves its minute's prices at once (the candle event that
  // follows carries the volume, so a trade is never counted twice). On the 1s
  // chart, which no candle event feeds, the trade brings its volume too.
  addTrade(trade) {
    const price = toTicks(trade.price);
    if (this.intervalS === 1) {
      const second = Math.floor(trade.time / 1000);
      const bar = this.lastBar?.start === second ? this.lastBar
        : { start: second, open: price, high: price, low: price, close: price, volume: 0 };
      this.#updateSecond({ ...bar, high: Math.max(bar.high, price), low: Math.min(bar.low, price), close: price,
                           volume: bar.volume + Number(trade.quantity) });
      return;
    }
    const start = Math.floor(trade.time / 60000) * 60;
    const bucket = this.#bucket(start);
    if (this.lastBar && bucket < this.lastBar.start) return;
    const minute = (bucket === this.lastBar?.start && this.minutes.get(start)) ||
                   { start, open: price, high: price, low: price, close: price, volume: 0 };
    this.#updateMinute({ ...minute, high: Math.max(minute.high, price), low: Math.min(minute.low, price),
                         close: price });
  }

  #updateMinute(minute) {
    const bucket = this.#bucket(minute.start);
    if (this.lastBar && bucket < this.lastBar.start) return; // older than what is drawn
    if (!this.lastBar || bucket > this.lastBar.start) this.minutes = new Map();
    this.minutes.set(minute.start, minute);
    this.lastBar = fold(this.minutes.values(), bucket);
    this.candles.update(this.#candleData(this.lastBar));
    this.volume.update(this.#volumeData(this.lastBar));
  }

  #bucket(start) {
    return start - (start % this.intervalS);
  }

  #candleData(bar) {
    return { time: bar.start, open: bar.open / 100, high: bar.high / 100, low: bar.low / 100, close: bar.close / 100 };
  }

  #volumeData(bar) {
    return { time: bar.start, value: bar.volume, color: bar.close >= bar.open ? `${UP}80` : `${DOWN}80` };
  }
}

