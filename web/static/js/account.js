// The signed-in user's side: log in / register / log out, balances, open
// orders with their reduce and cancel buttons (and cancel all), the order history, recent fills.
import { clearSession, del, describe, get, patch, post, saveSession, session } from "./api.js";
import { $, clockTime, el, showMessage } from "./dom.js";
import { OrderHistory } from "./history.js";
import { orderPriceLabel, quantityProblem, shown } from "./money.js";

export class AccountPanel {
  // onSession(token or null): called when the user signs in or out; onMine(): after the open
  // orders and recent fills (this.openOrders, this.recentFills) change.
  constructor(onSession, onMine) {
    this.onSession = onSession;
    this.onMine = onMine;
    this.openOrders = [];
    this.recentFills = [];
    this.refreshing = null;
    $("#auth-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#signIn("/sessions");
    });
    $("#register").addEventListener("click", () => this.#signIn("/users"));
    $("#logout").addEventListener("click", () => this.signOut());
    $("#cancel-all").addEventListener("click", () => this.#cancelAll());
    $("#copy-token").addEventListener("click", () => this.#copyToken());
    this.history = new OrderHistory();
    this.#showSession();
  }

  get signedIn() {
    return Boolean(session()?.token);
  }

  async #signIn(path) {
    const username = $("#auth-username").value.trim();
    const password = $("#auth-password").value;
    if (!username || !password) {
      showMessage("#auth-message", "Enter a username and a password.", "error");
      return;
    }
    try {
      const body = await post(path, { username, password });
      saveSession(username, body.token);
      $("#auth-password").value = "";
      showMessage("#auth-message", path === "/users" ? `Welcome, ${username}: your account is open.` : "");
      this.#showSession();
      this.onSession(body.token);
      await this.refresh();
    } catch (err) {
      showMessage("#auth-message", describe(err), "error");
    }
  }

  async signOut(reason = "") {
    if (this.signedIn) {
      try {
        await del("/sessions");
      } catch {
        // The token may already be expired or revoked: signing out locally is enough.
      }
    }
    clearSession();
    this.#showSession();
    showMessage("#auth-message", reason, reason ? "error" : "");
    for (const id of ["#balances", "#open-orders", "#fills"]) $(id).replaceChildren();
    this.history.clear();
    this.openOrders = [];
    this.recentFills = [];
    this.balances = undefined;
    this.onMine();
    this.onSession(null);
  }

  #showSession() {
    const current = session();
    $("#auth-form").hidden = Boolean(current?.token);
    $("#signed-in").hidden = !current?.token;
    $("#whoami").textContent = current?.username ?? "";
    $(".balances").hidden = !current?.token;
    $("#cancel-all").hidden = !current?.token;
  }

  // Reload balances, open orders and fills; concurrent calls share one reload.
  refresh() {
    if (!this.signedIn) return Promise.resolve();
    if (!this.refreshing) {
      this.refreshing = this.#reload().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async #reload() {
    try {
      const [account, orders, fills] = await Promise.all([
        get("/account"), get("/orders?status=open&limit=100"), get("/fills?limit=30"),
      ]);
      this.#renderBalances(account.balances);
      this.#renderOrders(orders.orders);
      this.#renderFills(fills.fills);
      this.openOrders = orders.orders;
      this.recentFills = fills.fills;
      this.onMine();
      await this.history.load();
    } catch (err) {
      if (err.status === 401) await this.signOut("Your session has expired: please log in again.");
      else showMessage("#orders-message", describe(err), "error");
    }
  }

  #renderBalances(balances) {
    this.balances = balances;
    $("#balances").replaceChildren(...Object.entries(balances).map(([asset, amounts]) =>
      el("tr", { "data-asset": asset },
         el("td", {}, asset), el("td", {}, shown(amounts.available)), el("td", {}, shown(amounts.on_hold)))));
  }

  #renderOrders(orders) {
    $("#open-orders").replaceChildren(...orders.map((order) =>
      el("tr", { "data-order-id": order.order_id },
         el("td", {}, order.symbol), el("td", { class: order.side }, order.side),
         el("td", {}, orderPriceLabel(order)), el("td", {}, order.quantity),
         el("td", {}, order.filled_quantity), el("td", {}, order.status.replace("_", " ")),
         el("td", { class: "actions" }, ...this.#amendControls(order),
            el("button", { type: "button", class: "cancel", onclick: () => this.#cancel(order) }, "Cancel")))));
    if (!orders.length) {
      $("#open-orders").append(el("tr", { class: "empty" }, el("td", { colspan: 7 }, "No open orders.")));
    }
  }

  // A smaller total quantity for the order (it keeps its place in the queue): an input and a button.
  #amendControls(order) {
    if (order.quantity - order.filled_quantity < 2) return []; // nothing it could be reduced to
    const input = el("input", { class: "amend-quantity", type: "number", min: order.filled_quantity + 1,
                                max: order.quantity - 1, value: order.quantity - 1, "aria-label": "New quantity" });
    const button = el("button", { type: "button", class: "amend", onclick: () => this.#amend(order, input.value) },
                      "Reduce");
    return [input, button];
  }

  async #amend(order, text) {
    const problem = quantityProblem(String(text));
    if (problem) {
      showMessage("#orders-message", problem, "error");
      return;
    }
    try {
      const amended = await patch(`/orders/${encodeURIComponent(order.order_id)}`, { quantity: Number(text) });
      showMessage("#orders-message", `Reduced ${order.side} ${order.symbol} @ ${orderPriceLabel(order)} to ` +
                  `${amended.quantity}.`, "ok");
    } catch (err) {
      showMessage("#orders-message", describe(err), "error");
    }
    await this.refresh();
  }

  async #cancelAll() {
    try {
      const { canceled } = await del("/orders");
      showMessage("#orders-message", `Canceled ${canceled.length} order${canceled.length === 1 ? "" : "s"}.`, "ok");
    } catch (err) {
      showMessage("#orders-message", describe(err), "error");
    }
    await this.refresh();
  }

  // The bearer token, for a bot developer's Authorization header (API keys are for programs).
  async #copyToken() {
    try {
      await navigator.clipboard.writeText(session()?.token ?? "");
      showMessage("#auth-message", "API token copied: send it as 'Authorization: Bearer <token>'.", "ok");
    } catch (err) {
      showMessage("#auth-message", `Could not copy the token: ${err.message}`, "error");
    }
  }

  async #cancel(order) {
    try {
      await del(`/orders/${encodeURIComponent(order.order_id)}`);
      showMessage("#orders-message", `Canceled ${order.side} ${order.quantity} ${order.symbol} @ ${orderPriceLabel(order)}.`, "ok");
    } catch (err) {
      showMessage("#orders-message", describe(err), "error");
    }
    await this.refresh();
  }

  #renderFills(fills) {
    $("#fills").replaceChildren(...fills.map((fill) =>
      el("tr", { "data-trade-id": fill.trade_id },
         el("td", {}, clockTime(fill.time)), el("td", {}, fill.symbol), el("td", { class: fill.side }, fill.side),
         el("td", {}, fill.price), el("td", {}, fill.quantity), el("td", {}, fill.fee))));
  }
}
