// format.js: number formatting shared by the pages.

export function bytes(n) {
  if (n == null || isNaN(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 2 : 1)) + " " + units[i];
}

export function count(n) {
  if (n == null || isNaN(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

export function rate(n) {
  if (n == null || isNaN(n)) return "–";
  if (n >= 1000) return (n / 1000).toFixed(n >= 10000 ? 0 : 1) + "k";
  return n.toFixed(n < 10 ? 1 : 0);
}

export function duration(s) {
  if (s == null || isNaN(s)) return "–";
  s = Math.floor(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${sec}s`;
  return `${sec}s`;
}

export function clock(t) {
  const d = new Date(t);
  return isNaN(d) ? "–" : d.toLocaleTimeString("en-GB", { hour12: false });
}
