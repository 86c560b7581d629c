// Prices are decimal strings ("12.34") at the API; here they become integer
// ticks (cents) for sorting, checks and folding. No float holds a price
// except the chart's own drawing coordinates.

export const TICK_DECIMALS = 2;

// Why `text` is not a valid limit price, or null when it is.
export function priceProblem(text) {
  const value = text.trim();
  if (value === "") return "Enter a price.";
  if (!/^\d+(\.\d+)?$/.test(value)) return "Price must be a decimal number like 12.34.";
  const decimals = value.includes(".") ? value.split(".")[1].length : 0;
  if (decimals > TICK_DECIMALS) return `Price ${value} is not a multiple of the 0.01 tick.`;
  if (toTicks(value) <= 0) return "Price must be above zero.";
  return null;
}

export function quantityProblem(text) {
  const value = text.trim();
  if (!/^\d+$/.test(value) || Number(value) <= 0) return "Quantity must be a whole number of shares above zero.";
  if (!Number.isSafeInteger(Number(value))) return "Quantity is too large.";
  return null;
}

export function toTicks(price) {
  const [whole, fraction = ""] = String(price).split(".");
  const sign = whole.startsWith("-") ? -1 : 1;
  const cents = Number((fraction + "00").slice(0, 2));
  return sign * (Math.abs(Number(whole)) * 100 + cents);
}

// Integer cents (a BigInt, so no notional is ever too large) as dollars: 123456n -> "1234.56".
export function centsText(cents) {
  const sign = cents < 0n ? "-" : "";
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
}

export function fromTicks(ticks) {
  const sign = ticks < 0 ? "-" : "";
  const abs = Math.abs(ticks);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

// For the chart only: lightweight-charts draws numbers.
export const chartPrice = (price) => toTicks(price) / 100;

export const shown = (value) => (value === null || value === undefined ? "—" : String(value));

// An order's price as a person reads it: "market", "12.34", "stop 12.50", "12.34 stop 12.50".
export function orderPriceLabel(order) {
  const limit = order.type === "limit" || order.type === "stop_limit" ? order.price : "market";
  return order.stop_price ? `${limit} stop ${order.stop_price}` : limit;
}
