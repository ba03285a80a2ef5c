// Building DOM without innerHTML: every value from a workbook or a bank file goes in as text (textContent).
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = String(v);
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function $(id) { return document.getElementById(id); }

export function show(node, on = true) { node.hidden = !on; return node; }

// Exact sums of decimal strings of one currency (BigInt minor units; never floats).
export function decimalSum(values) {
  let places = 0;
  for (const v of values) {
    const frac = String(v || "0").split(".")[1];
    if (frac) places = Math.max(places, frac.length);
  }
  let total = 0n;
  for (const v of values) total += toMinor(String(v || "0"), places);
  return fromMinor(total, places);
}

export function decimalSub(a, b) {
  return decimalSum([a, String(b).startsWith("-") ? String(b).slice(1) : "-" + b]);
}

function toMinor(s, places) {
  const neg = s.startsWith("-");
  const [i, f = ""] = s.replace(/^[-+]/, "").split(".");
  const v = BigInt(i || "0") * 10n ** BigInt(places) + BigInt((f + "0".repeat(places)).slice(0, places) || "0");
  return neg ? -v : v;
}

function fromMinor(v, places) {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (places) {
    s = s.padStart(places + 1, "0");
    s = `${s.slice(0, -places)}.${s.slice(-places)}`;
  }
  return (neg ? "-" : "") + s;
}
