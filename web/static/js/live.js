// The Socket.IO connection: public market data for the symbol on screen and,
// when signed in (auth: {token}), this user's private `order` events.
import { io } from "/vendor/socket.io.esm.min.js";

export const CHANNELS = ["book", "trades", "ticker", "candles"];
const EVENTS = [
  "book_snapshot", "book_update", "trade", "ticker", "candle", "status", "order", "error", "session_ended",
];

export class LiveFeed {
  // handlers: {book_snapshot(data), ..., status(data), connection(text)}
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
    this.symbol = null;
  }

  connect(token) {
    if (this.socket) this.socket.disconnect();
    this.socket = io({
      path: "/socket.io",
      auth: token ? { token } : {},
      // WebSocket first: it needs no sticky routing between web replicas;
      // long-polling if a proxy on the way refuses WebSockets.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
    });
    this.socket.on("connect", () => {
      this.handlers.connection?.("live");
      if (this.symbol) this.socket.emit("subscribe", { symbol: this.symbol, channels: CHANNELS });
    });
    this.socket.on("disconnect", () => this.handlers.connection?.("reconnecting…"));
    this.socket.on("connect_error", (err) => {
      // The server refused us (err.data = {code, message}, e.g. an expired token):
      // the client does not retry that by itself.
      if (err.data?.code) this.handlers.refused?.(err.data);
      else this.handlers.connection?.(`offline (${err.message})`);
    });
    for (const name of EVENTS) {
      this.socket.on(name, (data) => {
        // Market data of a symbol we just left may still be in flight.
        if (data && data.symbol && name !== "order" && data.symbol !== this.symbol) return;
        this.handlers[name]?.(data);
      });
    }
  }

  subscribe(symbol) {
    if (this.symbol && this.symbol !== symbol && this.socket?.connected) {
      this.socket.emit("unsubscribe", { symbol: this.symbol });
    }
    this.symbol = symbol;
    if (this.socket?.connected) this.socket.emit("subscribe", { symbol, channels: CHANNELS });
  }

  // After a missed book update: subscribing to the book again brings a fresh
  // snapshot (the other channels stay as they are).
  resubscribe() {
    if (!this.socket?.connected || !this.symbol) return;
    this.socket.emit("subscribe", { symbol: this.symbol, channels: ["book"] });
  }
}
