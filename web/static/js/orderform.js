// The order form: checks what it can (price tick, quantity) before sending,
// and shows the API's own message when the exchange refuses an order.
import { describe, post } from "./api.js";
import { $, showMessage } from "./dom.js";
import { centsText, orderPriceLabel, priceProblem, quantityProblem, toTicks } from "./money.js";

const BPS = 10000n;

export class OrderForm {
  // symbol(): the symbol on screen; signedIn(): bool; placed(order): after a 201;
  // available(asset): my available balance ("12.34" for USD, shares for a symbol) or undefined;
  // best(side): the best bid ("buy") or ask ("sell") price in ticks, or null.
  constructor({ symbol, signedIn, placed, available, best }) {
    this.symbol = symbol;
    this.signedIn = signedIn;
    this.placed = placed;
    this.available = available;
    this.best = best;
    this.feeBps = 0n; // the higher of the maker and taker rates: what a buy's hold reserves
    this.form = $("#order-form");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submit();
    });
    this.form.addEventListener("change", () => this.sync());
    this.form.addEventListener("input", () => this.preview());
    this.sync();
  }

  setFees({ maker_fee_bps: maker = 0, taker_fee_bps: taker = 0 }) {
    this.feeBps = BigInt(Math.max(maker, taker));
    this.preview();
  }

  // What the order would cost or bring, its fee at most, and what is available, as typed.
  preview() {
    const type = $("#order-type").value;
    const side = this.#side();
    const quantity = $("#order-quantity").value.trim();
    const typed = type === "stop" ? $("#order-stop-price").value : $("#order-price").value;
    const opposite = this.best(side === "buy" ? "sell" : "buy");
    const ticks = type === "market" ? opposite : priceProblem(typed) ? null : toTicks(typed.trim());
    const node = $("#order-preview");
    node.className = "preview";
    if (quantityProblem(quantity) || ticks === null || ticks === undefined || !this.symbol()) {
      node.textContent = "";
      return;
    }
    const notional = BigInt(ticks) * BigInt(quantity);
    const fee = (notional * this.feeBps) / BPS;
    const at = { market: ` at the best ${side === "buy" ? "ask" : "bid"}`, stop: " at the stop price" }[type] ?? "";
    const estimate = type === "market" || type === "stop" ? "≈ " : "";
    if (side === "buy") {
      const available = this.available("USD");
      const over = available !== undefined && notional + fee > BigInt(toTicks(available));
      node.textContent = `Cost ${estimate}$${centsText(notional)}${at} + fee ≤ $${centsText(fee)}` +
        (available === undefined ? "" : ` · available $${available}`) + (over ? ": more than available" : "");
      if (over) node.className = "preview error";
    } else {
      const available = this.available(this.symbol());
      const over = available !== undefined && BigInt(quantity) > BigInt(available);
      node.textContent = `Proceeds ${estimate}$${centsText(notional)}${at} − fee ≤ $${centsText(fee)}` +
        (available === undefined ? "" : ` · available ${available} ${this.symbol()}`) +
        (over ? ": more than available" : "");
      if (over) node.className = "preview error";
    }
  }

  // Fill the price from a click on the book.
  setPrice(price) {
    $("#order-price").value = price;
    this.preview();
  }

  #side() {
    return this.form.querySelector("input[name=side]:checked").value;
  }

  sync() {
    const type = $("#order-type").value;
    const limited = type === "limit" || type === "stop_limit";
    const stop = type === "stop" || type === "stop_limit";
    $("#order-price").disabled = !limited;
    $("#order-stop-price-field").hidden = !stop;
    $("#order-stop-price").disabled = !stop;
    $("#order-post-only").disabled = type !== "limit";
    if (type !== "limit") $("#order-post-only").checked = false;
    this.form.classList.toggle("buying", this.#side() === "buy");
    this.form.classList.toggle("selling", this.#side() === "sell");
    $("#order-submit").textContent = `${this.#side() === "buy" ? "Buy" : "Sell"} ${this.symbol() ?? ""}`;
    this.preview();
  }

  // The order body, or a message saying what is wrong with the form.
  #order() {
    const type = $("#order-type").value;
    const order = {
      symbol: this.symbol(), side: this.#side(), type,
      quantity: Number($("#order-quantity").value.trim()),
      time_in_force: $("#order-tif").value, post_only: $("#order-post-only").checked,
    };
    const quantityIssue = quantityProblem($("#order-quantity").value);
    if (type === "limit" || type === "stop_limit") {
      const priceIssue = priceProblem($("#order-price").value);
      if (priceIssue) return { problem: priceIssue };
      order.price = $("#order-price").value.trim();
    }
    if (type === "stop" || type === "stop_limit") {
      const stopIssue = priceProblem($("#order-stop-price").value);
      if (stopIssue) return { problem: `Stop price: ${stopIssue}` };
      order.stop_price = $("#order-stop-price").value.trim();
    }
    if (quantityIssue) return { problem: quantityIssue };
    return { order };
  }

  async #submit() {
    if (!this.signedIn()) {
      showMessage("#order-message", "Log in or register to trade.", "error");
      return;
    }
    const { order, problem } = this.#order();
    if (problem) {
      showMessage("#order-message", problem, "error");
      return;
    }
    $("#order-submit").disabled = true;
    try {
      const placed = await post("/orders", order);
      showMessage("#order-message", `${placed.side} ${placed.quantity} ${placed.symbol} @ ${orderPriceLabel(placed)}: ` +
                  `${placed.status.replace("_", " ")}, filled ${placed.filled_quantity}.`, "ok");
      this.placed(placed);
    } catch (err) {
      showMessage("#order-message", describe(err), "error");
    } finally {
      $("#order-submit").disabled = false;
    }
  }
}
