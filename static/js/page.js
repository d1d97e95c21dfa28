// page.js: what every page script needs, once: find and make elements, call
// the server's JSON API, and write numbers the same way on every page
// (counts, money, percentages, sizes, rates, durations, clock times).
// Every formatter returns "–" for a missing or non-finite value, so a page
// never shows "NaN" or "undefined".

// $ returns the element with this id (or null).
export const $ = (id) => document.getElementById(id);

// setText sets the text of the element with this id, if the page has it.
export function setText(id, text) {
  const e = $(id);
  if (e) e.textContent = text;
  return e;
}

// el makes an element. props is a class name, or an object whose keys are
// "class", "text", "title", "dataset" (an object), "style" (an object),
// "on" (event name -> handler) or any property or attribute of the element;
// children are nodes or strings, null and false are skipped.
export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  if (typeof props === "string") e.className = props;
  else if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k === "style") Object.assign(e.style, v);
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      else if (k in e && k !== "list" && k !== "form") e[k] = v; // a property: value, disabled, type
      else e.setAttribute(k, v === true ? "" : v);
    }
  }
  for (const c of children) if (c != null && c !== false) e.append(c);
  return e;
}

// APIError is a refusal or failure from the server: message is the
// server's sentence, status the HTTP status, body the decoded answer.
export class APIError extends Error {
  constructor(message, status, body) {
    super(message);
    this.name = "APIError";
    this.status = status;
    this.body = body;
  }
}

// api sends a request and returns the decoded JSON answer (null for an empty
// one). body is an object (sent as JSON), a string (sent as JSON text, for
// numbers JavaScript cannot hold, such as 64-bit seeds), or FormData. A
// refusal throws an APIError carrying the server's sentence; a network
// failure throws one with status 0.
export async function api(method, url, body, { signal } = {}) {
  const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin", signal };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, opts);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new APIError("The server cannot be reached; is Metastation still running?", 0, null);
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) throw new APIError(data?.error || `The server answered ${res.status} ${res.statusText}.`, res.status, data);
  return data;
}

// get is api("GET", url).
export const get = (url, opts) => api("GET", url, undefined, opts);

const missing = (v) => v == null || typeof v === "boolean" || !Number.isFinite(Number(v));

// count writes a whole number with thousands separators: 12,345.
export function count(n) {
  if (missing(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

// fixed writes a figure with a fixed number of decimals: 0.42, −3.10.
export function fixed(v, digits = 2) {
  if (missing(v)) return "–";
  return Number(v).toFixed(digits);
}

// num writes a figure with a fixed number of decimals, in exponent form when
// it is very small or very large (a loss of 2e-5, a step count of 3e6).
export function num(v, digits = 1) {
  if (missing(v)) return "–";
  v = Number(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return v.toFixed(digits);
}

// sig writes a measured figure with at most `digits` significant digits and
// thousands separators, without trailing zeros: 0.0123, 4.57, 1,235.
export function sig(v, digits = 3) {
  if (missing(v)) return "–";
  v = Number(v);
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a < 1e-4 || a >= 1e15) return v.toExponential(Math.max(0, digits - 1));
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return v.toLocaleString("en-US", { maximumFractionDigits: Math.min(decimals, 20) });
}

// compact writes a large figure short: 950, 12.3k, 4.6M, 1.2B.
export function compact(v, digits = 3) {
  if (missing(v)) return "–";
  v = Number(v);
  const a = Math.abs(v);
  for (const [div, suffix] of [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]]) {
    if (a >= div) return sig(v / div, digits) + suffix;
  }
  return sig(v, digits);
}

// rate writes a per-second figure short: 0.5, 12, 3.4k.
export function rate(n) {
  if (missing(n)) return "–";
  if (n >= 1000) return compact(n, n >= 10000 ? 3 : 2);
  return Number(n).toFixed(n < 10 ? 1 : 0);
}

// money writes signed whole dollars, for gains and losses: +$1,234, −$56.
// A sum that rounds to nothing is "$0", never "+$0".
export function money(v) {
  if (missing(v)) return "–";
  const r = Math.round(Math.abs(v));
  if (r === 0) return "$0";
  return (v < 0 ? "−$" : "+$") + r.toLocaleString("en-US");
}

// dollars writes an amount (not a change): $1,234, −$56, $1.2M when short.
export function dollars(v, { short = false } = {}) {
  if (missing(v)) return "–";
  const body = short ? compact(Math.abs(v), 3) : Math.round(Math.abs(v)).toLocaleString("en-US");
  return (v < 0 ? "−$" : "$") + body;
}

// price writes a price with `digits` decimals and separators: 1,234.50.
export function price(v, digits = 2) {
  if (missing(v)) return "–";
  return Number(v).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// pct writes a fraction as a percentage: pct(0.0123) is "1.23%".
export function pct(v, digits = 2) {
  if (missing(v)) return "–";
  return (v * 100).toFixed(digits) + "%";
}

// signedPct writes a fraction as a signed percentage: +1.23%, −0.40%.
export function signedPct(v, digits = 2) {
  if (missing(v)) return "–";
  const s = (Math.abs(v) * 100).toFixed(digits);
  if (Number(s) === 0) return s + "%";
  return (v < 0 ? "−" : "+") + s + "%";
}

// niceTicks returns about n round values between lo and hi (steps of 1, 2,
// 2.5 or 5 times a power of ten), for chart axes.
export function niceTicks(lo, hi, n = 5) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? 10 * mag;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

// signedDollars writes a change in dollars short, for axes: +$12k, −$3.5k, $0.
export function signedDollars(v) {
  if (missing(v)) return "–";
  if (Math.abs(v) < 0.5) return "$0";
  return (v < 0 ? "−$" : "+$") + compact(Math.abs(v), 3);
}

// bytes writes a size in binary units: 512 B, 1.50 KiB, 12.3 MiB.
export function bytes(n) {
  if (missing(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
}

// duration writes seconds as 45s, 3m 20s, 2h 5m.
export function duration(s) {
  if (missing(s)) return "–";
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${sec}s`;
  return `${sec}s`;
}

// clock writes the time of day of t (a Date, milliseconds or an RFC 3339
// string) as 14:05:09, in the reader's time zone.
export function clock(t) {
  const d = new Date(t);
  return isNaN(d) ? "–" : d.toLocaleTimeString("en-GB", { hour12: false });
}

// dateTime writes t as "3 Dec, 14:05" in the reader's time zone.
export function dateTime(t) {
  const d = new Date(t);
  return isNaN(d) ? "–" : d.toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false });
}
