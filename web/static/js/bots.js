// The Bots panel: write a rule bot (a one-threshold form or the JSON editor),
// see my bots' state, stop them. The API validates the rule against its JSON
// Schema and names the path of a bad node ("$.$do[0].$order.shares: ...").
import { JsonText, del, describe, get, post } from "./api.js";
import { $, el, showMessage } from "./dom.js";

const ACTIVE = new Set(["waiting", "fired"]);
const PAGE = 50; // bots listed: GET /bots is paged
const EXAMPLE = `{
  "$when": {"$comparison": {"itemA": {"$ask": "KRYP"}, "type": "lte", "itemB": "12.00"}},
  "$do": [{"$order": {"kind": "LIMIT", "intent": "BUY", "bid": "12.00", "shares": 5}}],
  "$then": {
    "$when": {"$comparison": {"itemA": {"$bid": "KRYP"}, "type": "gte", "itemB": "13.00"}},
    "$do": [{"$order": {"kind": "LIMIT", "intent": "SELL", "ask": "13.00", "shares": 5}}]
  }
}`;

// The threshold form as rule JSON text (values kept as the strings typed).
function ruleFromForm() {
  const operand = $("#rule-operand").value;
  const symbol = $("#rule-symbol").value;
  const watched = operand === "$cash" ? { $cash: "USD" } : { [operand]: symbol };
  const shares = $("#rule-shares").value.trim();
  // Not a whole number: sent as typed, for the API to say what is wrong with it.
  const order = { kind: $("#rule-kind").value, intent: $("#rule-side").value, symbol,
                  shares: /^\d+$/.test(shares) ? Number(shares) : shares };
  if (order.kind === "LIMIT") order.price = $("#rule-price").value.trim();
  const rule = {
    $when: { $comparison: { itemA: watched, type: $("#rule-comparison").value, itemB: $("#rule-value").value.trim() } },
    $do: [{ $order: order }],
  };
  return JSON.stringify(rule, null, 2);
}

// last_action: {step, index, action: {type, symbol, side, order_type, price, quantity},
// result?: {status, filled_quantity, canceled, ...}, error?: {code, message}}.
function describeAction(last) {
  if (!last) return "—";
  const action = last.action ?? {};
  let text = action.type === "cancel_all"
    ? `cancel all ${action.symbol ?? "orders"}`
    : action.type === "order"
      ? `${action.side} ${action.quantity} ${action.symbol} ${action.price ? `@ ${action.price}` : "at market"}` +
        (action.stop_price ? ` stop ${action.stop_price}` : "")
      : "";
  if (last.step !== undefined) text = `step ${last.step + 1}: ${text}`;
  if (last.error) return `${text} refused: ${last.error.message} (${last.error.code})`;
  const result = last.result ?? {};
  if (result.status) return `${text} → ${result.status.replace("_", " ")}, filled ${result.filled_quantity ?? 0}`;
  if (result.canceled !== undefined) return `${text} → ${result.canceled} canceled`;
  return text || "—";
}

function stepText(bot) {
  if (bot.status === "done") return `${bot.steps}/${bot.steps}`;
  return `${Math.min(bot.step + 1, bot.steps)}/${bot.steps}`;
}

export class BotsPanel {
  constructor({ signedIn }) {
    this.signedIn = signedIn;
    $("#bot-json").value = EXAMPLE;
    for (const button of document.querySelectorAll("[data-bot-editor]")) {
      button.addEventListener("click", () => this.showEditor(button.dataset.botEditor));
    }
    $("#bot-rule-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#create($("#rule-name").value.trim(), ruleFromForm());
    });
    $("#rule-kind").addEventListener("change", () => {
      $("#rule-price").disabled = $("#rule-kind").value === "MARKET";
    });
    $("#rule-as-json").addEventListener("click", () => {
      $("#bot-json").value = ruleFromForm();
      $("#bot-name").value = $("#rule-name").value;
      this.showEditor("json");
    });
    $("#bot-json-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#create($("#bot-name").value.trim(), $("#bot-json").value);
    });
  }

  setSymbols(symbols, current) {
    $("#rule-symbol").replaceChildren(...symbols.map((s) => el("option", { value: s.symbol }, s.symbol)));
    $("#rule-symbol").value = current;
  }

  showEditor(which) {
    $("#bot-rule-form").hidden = which !== "rule";
    $("#bot-json-form").hidden = which !== "json";
    for (const button of document.querySelectorAll("[data-bot-editor]")) {
      button.classList.toggle("active", button.dataset.botEditor === which);
    }
  }

  async #create(name, ruleText) {
    if (!this.signedIn()) {
      showMessage("#bot-message", "Log in or register to run bots.", "error");
      return;
    }
    try {
      JSON.parse(ruleText);
    } catch (err) {
      showMessage("#bot-message", `The rule is not valid JSON: ${err.message}`, "error");
      return;
    }
    const body = name ? `{"name": ${JSON.stringify(name)}, "rule": ${ruleText}}` : `{"rule": ${ruleText}}`;
    try {
      const bot = await post("/bots", new JsonText(body));
      showMessage("#bot-message", `Bot ${bot.name} is ${bot.status}: ${bot.steps} step${bot.steps === 1 ? "" : "s"}.`, "ok");
      await this.refresh();
    } catch (err) {
      showMessage("#bot-message", describe(err), "error");
    }
  }

  async refresh() {
    if (!this.signedIn()) {
      $("#my-bots").replaceChildren();
      return;
    }
    try {
      const { bots, next_cursor: more } = await get(`/bots?limit=${PAGE}`);
      this.#render(bots, more);
    } catch (err) {
      if (err.status !== 401) showMessage("#bot-message", describe(err), "error");
    }
  }

  // One page, newest first (the API's order); older bots beyond it are noted, not listed.
  #render(bots, more) {
    $("#my-bots").replaceChildren(...bots.map((bot) =>
      el("tr", { "data-bot-id": bot.bot_id, "data-status": bot.status },
         el("td", {}, bot.name), el("td", { class: `status-${bot.status}` }, bot.status),
         el("td", {}, stepText(bot)), el("td", {}, describeAction(bot.last_action)),
         el("td", {}, ACTIVE.has(bot.status)
           ? el("button", { type: "button", class: "stop", onclick: () => this.#stop(bot) }, "Stop")
           : ""))));
    if (!bots.length) $("#my-bots").append(el("tr", { class: "empty" }, el("td", { colspan: 5 }, "No bots yet.")));
    if (more) $("#my-bots").append(el("tr", { class: "empty" }, el("td", { colspan: 5 }, `The newest ${PAGE} are shown.`)));
  }

  async #stop(bot) {
    try {
      const stopped = await del(`/bots/${encodeURIComponent(bot.bot_id)}`);
      showMessage("#bot-message", `Bot ${stopped.name} is ${stopped.status}.`, "ok");
    } catch (err) {
      showMessage("#bot-message", describe(err), "error");
    }
    await this.refresh();
  }
}
