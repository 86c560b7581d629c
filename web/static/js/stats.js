// The statistics panel: GET /stats as a correlation heatmap of the listed symbols,
// and the spread (log A - alpha - beta * log B) of the most cointegrated pair, drawn
// with lightweight-charts. The figures are the server's (numpy, statsmodels).
import { LineSeries, createChart } from "/vendor/lightweight-charts.mjs";
import { describe, get } from "./api.js";
import { $, el, showMessage } from "./dom.js";

const WINDOWS = { "1s": 120, "1m": 60, "1h": 500 };

// -1 red, 0 white, +1 green.
export function heatColor(correlation) {
  const strength = Math.min(1, Math.abs(correlation));
  const [r, g, b] = correlation >= 0 ? [38, 166, 154] : [239, 83, 80];
  const mix = (channel) => Math.round(255 - (255 - channel) * strength);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

function correlations(stats) {
  const by = new Map();
  for (const pair of stats.pairs) {
    const [a, b] = pair.symbols;
    by.set(`${a}/${b}`, pair.correlation).set(`${b}/${a}`, pair.correlation);
  }
  return (a, b) => (a === b ? 1 : by.get(`${a}/${b}`));
}

export class StatsPanel {
  constructor() {
    this.chart = createChart($("#stats-spread"), {
      autoSize: true,
      layout: { attributionLogo: true, background: { color: "#ffffff" }, textColor: "#1f2933" },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    this.spread = this.chart.addSeries(LineSeries, { color: "#3366cc", lineWidth: 2 });
    $("#stats-interval").addEventListener("change", () => this.refresh());
  }

  async refresh() {
    const interval = $("#stats-interval").value;
    try {
      const stats = await get(`/stats?interval=${interval}&window=${WINDOWS[interval]}&series=1`);
      this.render(stats);
      showMessage("#stats-message", "");
    } catch (err) {
      // Too few candles yet (a new exchange, a quiet hour) is a 422 that says what is missing.
      $("#stats-heat").replaceChildren();
      $("#stats-heat-head").replaceChildren();
      $("#stats-pair").textContent = "";
      this.spread.setData([]);
      $("#stats-spread").hidden = true;
      showMessage("#stats-message", describe(err), err.code === "insufficient_data" ? "" : "error");
    }
  }

  render(stats) {
    const symbols = Object.keys(stats.symbols);
    const correlation = correlations(stats);
    $("#stats-heat-head").replaceChildren(el("tr", {}, el("th", {}, ""), ...symbols.map((s) => el("th", {}, s))));
    $("#stats-heat").replaceChildren(...symbols.map((a) => el("tr", {}, el("th", {}, a), ...symbols.map((b) => {
      const value = correlation(a, b);
      return el("td", { style: `background: ${heatColor(value)}`, "data-pair": `${a}/${b}` }, value.toFixed(2));
    }))));
    const best = [...stats.pairs].sort((x, y) => x.cointegration.p_value - y.cointegration.p_value)[0];
    if (!best) return;
    const [a, b] = best.symbols;
    $("#stats-pair").textContent = `${a}/${b}: hedge ratio ${best.hedge_ratio.toFixed(2)}, ` +
      `cointegration p-value ${best.cointegration.p_value.toFixed(3)}, spread z-score ${best.spread.z_score.toFixed(2)}`;
    $("#stats-spread").hidden = false;
    this.spread.setData(best.spread.series.map(([time, value]) => ({ time, value })));
    this.chart.timeScale().fitContent();
  }
}
