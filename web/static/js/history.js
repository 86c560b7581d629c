// The signed-in user's order history: every order, whatever its status, newest first, a page
// at a time (GET /orders?status=all and its next_cursor).
import { describe, get } from "./api.js";
import { $, clockTime, el, showMessage } from "./dom.js";
import { orderPriceLabel } from "./money.js";

const PAGE = 20;

export class OrderHistory {
  constructor() {
    this.cursor = null;
    $("#history-more").addEventListener("click", () => this.load(true));
  }

  clear() {
    this.cursor = null;
    $("#order-history").replaceChildren();
    $("#history-more").hidden = true;
  }

  // The newest page (more=false), or the next older one after those shown.
  async load(more = false) {
    const cursor = more && this.cursor ? `&cursor=${encodeURIComponent(this.cursor)}` : "";
    try {
      const page = await get(`/orders?status=all&limit=${PAGE}${cursor}`);
      const rows = page.orders.map((order) =>
        el("tr", { "data-order-id": order.order_id },
           el("td", {}, clockTime(order.created_at)), el("td", {}, order.symbol),
           el("td", { class: order.side }, order.side), el("td", {}, order.type.replace("_", "-")),
           el("td", {}, orderPriceLabel(order)), el("td", {}, order.quantity), el("td", {}, order.filled_quantity),
           el("td", {}, order.status.replace("_", " "))));
      if (more) $("#order-history").append(...rows);
      else $("#order-history").replaceChildren(...rows);
      this.cursor = page.next_cursor;
      $("#history-more").hidden = !page.next_cursor;
    } catch (err) {
      showMessage("#history-message", describe(err), "error");
    }
  }
}
