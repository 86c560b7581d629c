// Small DOM helpers shared by the panels.

export const $ = (selector) => document.querySelector(selector);

// el("td", {class: "buy"}, "12.34") -> <td class="buy">12.34</td>
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

export function showMessage(selector, text, kind = "") {
  const node = $(selector);
  node.textContent = text;
  node.className = `message ${kind}`;
}

export function clockTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}
