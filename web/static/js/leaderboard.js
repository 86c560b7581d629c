// The public leaderboard: every account marked to market at the last trades.
import { describe, get, session } from "./api.js";
import { $, el, showMessage } from "./dom.js";
import { toTicks } from "./money.js";

const ROWS = 20;

export async function refreshLeaderboard() {
  try {
    const { leaderboard } = await get(`/leaderboard?limit=${ROWS}`);
    const me = session()?.username;
    $("#leaderboard").replaceChildren(...leaderboard.map((row) => {
      const pnl = toTicks(row.pnl);
      return el("tr", { class: row.username === me ? "me" : null, "data-username": row.username },
                el("td", {}, row.rank), el("td", {}, row.house ? `${row.username} (house)` : row.username),
                el("td", {}, row.value), el("td", { class: pnl > 0 ? "up" : pnl < 0 ? "down" : null }, row.pnl));
    }));
    showMessage("#leaderboard-message", "");
  } catch (err) {
    showMessage("#leaderboard-message", describe(err), "error");
  }
}
