// The order form: checks what it can (price tick, quantity) before sending,
// and shows the API's own message when the exchange refuses an order.
import { describe, post } from "./api.js";
import { $, showMessage } from "./dom.js";
import { orderPriceLabel, priceProblem, quantityProblem } from "./money.js";

export class OrderForm {
  // symbol(): the symbol on screen; signedIn(): bool; placed(order): after a 201.
  constructor({ symbol, signedIn, placed }) {
    this.symbol = symbol;
    this.signedIn = signedIn;
    this.placed = placed;
    this.form = $("#order-form");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.#submit();
    });
    this.form.addEventListener("change", () => this.sync());
    this.sync();
  }

  // Fill the price from a click on the book.
  setPrice(price) {
    $("#order-price").value = price;
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
