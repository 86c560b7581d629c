// The public leaderboard: every account marked to market at the last trades.
// Rows show rank, trader, value and P&L; with a token, my own row also carries my
// cash and shares (shown on hover) and comes as `me` even when it is below the top rows.
import { describe, get } from "./api.js";
import { $, el, showMessage } from "./dom.js";
import { toTicks } from "./money.js";

const ROWS = 20;

function holdingsText(row) {
  const shares = Object.entries(row.shares ?? {}).map(([symbol, quantity]) => `${symbol} ${quantity}`);
  return [`cash ${row.cash}`, ...shares].join(", ");
}

function rowElement(row, mine) {
  const pnl = toTicks(row.pnl);
  return el("tr", { class: mine ? "me" : null, "data-username": row.username, title: mine ? holdingsText(row) : null },
            el("td", {}, row.rank), el("td", {}, row.house ? `${row.username} (house)` : row.username),
            el("td", {}, row.value), el("td", { class: pnl > 0 ? "up" : pnl < 0 ? "down" : null }, row.pnl));
}

export async function refreshLeaderboard() {
  try {
    const { leaderboard, me } = await get(`/leaderboard?limit=${ROWS}`);
    const rows = leaderboard.map((row) => rowElement(row, me !== null && row.rank === me.rank));
    if (me && me.rank > leaderboard.length) rows.push(rowElement(me, true));
    $("#leaderboard").replaceChildren(...rows);
    showMessage("#leaderboard-message", "");
  } catch (err) {
    showMessage("#leaderboard-message", describe(err), "error");
  }
}
