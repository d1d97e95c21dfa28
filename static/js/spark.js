// spark.js: a tiny Canvas2D sparkline for the home page cards. It keeps a
// fixed window of points and redraws on push; device-pixel-ratio aware.

export class Spark {
  constructor(canvas, { points = 120, color = "#7cf2c5" } = {}) {
    this.canvas = canvas;
    this.max = points;
    this.color = color;
    this.values = [];
  }

  push(v) {
    this.values.push(Number(v) || 0);
    if (this.values.length > this.max) this.values.shift();
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || c.width, h = c.clientHeight || c.height;
    if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const vs = this.values;
    if (vs.length < 2) return;
    let lo = Math.min(...vs), hi = Math.max(...vs);
    if (hi === lo) { hi += 1; lo -= 1; }
    const x = (i) => (i / (this.max - 1)) * w;
    const y = (v) => h - 3 - ((v - lo) / (hi - lo)) * (h - 6);
    const off = this.max - vs.length;
    g.beginPath();
    vs.forEach((v, i) => (i ? g.lineTo(x(i + off), y(v)) : g.moveTo(x(i + off), y(v))));
    g.strokeStyle = this.color;
    g.lineWidth = 1.5;
    g.stroke();
    g.lineTo(x(vs.length - 1 + off), h);
    g.lineTo(x(off), h);
    g.closePath();
    const grad = g.createLinearGradient(0, 0, 0, h);
    grad.addColorStop(0, this.color + "55");
    grad.addColorStop(1, this.color + "00");
    g.fillStyle = grad;
    g.fill();
  }
}
