// Short notices in the page's corner that go away on their own (one of my orders filled).
import { $, el } from "./dom.js";

export function toast(text, ms = 6000) {
  const node = el("div", { class: "toast", role: "status" }, text);
  $("#toasts").append(node);
  setTimeout(() => node.remove(), ms);
}
