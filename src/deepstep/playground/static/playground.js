// deepstep playground: the page. Plain JavaScript and canvas; talks to the server over one WebSocket.
"use strict";

const DATASETS = {
  classification: ["circles", "xor", "gaussians", "spiral", "moons"],
  regression: ["plane", "bumps"],
};
const LAYER_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"];
const MAX_LAYERS = 6, MAX_UNITS = 8;

const $ = (id) => document.getElementById(id);
const view = {
  config: { dataset: "circles", problem: "classification", layers: [4, 4], csv_text: null },
  running: false, shot: null, full: null, history: [], norms: [], unit: [1, 0], ws: null,
};

// --- colours: 0 -> orange, 0.5 -> white, 1 -> blue (TensorFlow Playground's) -------------------
function colour(v) {
  const o = [245, 147, 34], w = [232, 234, 235], b = [8, 119, 189];
  const t = Math.max(0, Math.min(1, v));
  const [a, c, s] = t < 0.5 ? [o, w, t * 2] : [w, b, (t - 0.5) * 2];
  return [0, 1, 2].map((i) => Math.round(a[i] + (c[i] - a[i]) * s));
}

function decode(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function drawMap(ctx, bytes, n, x, y, w, h) {
  const img = new ImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const [r, g, b] = colour(bytes[i] / 255);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  const tmp = document.createElement("canvas");
  tmp.width = n; tmp.height = n;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tmp, x, y, w, h);
}

// --- the connection -------------------------------------------------------------------------
function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  view.ws = ws;
  ws.onopen = () => sendConfig();
  ws.onmessage = (e) => handle(JSON.parse(e.data));
  ws.onclose = () => { setRunning(false); message("The connection to the playground server is closed; reload the page."); };
}

function send(msg) {
  if (view.ws && view.ws.readyState === WebSocket.OPEN) view.ws.send(JSON.stringify(msg));
}

function readConfig() {
  const c = view.config;
  return {
    dataset: c.dataset, problem: $("problem").value, layers: c.layers.slice(),
    activation: $("activation").value, init: $("init").value, optimizer: $("optimizer").value,
    learning_rate: Number($("learning_rate").value), batch_size: Math.max(1, Math.round(Number($("batch_size").value) || 1)),
    l2: Number($("l2").value), keep_prob: Number($("keep_prob").value),
    noise: Number($("noise").value) / 100, train_fraction: Number($("train_fraction").value) / 100,
    n_points: Number($("n_points").value), seed: Math.max(0, Math.round(Number($("seed").value) || 0)),
    csv_text: c.dataset === "csv" ? c.csv_text : null,
  };
}

function sendConfig() {
  setRunning(false);
  view.history = []; view.norms = [];
  const cfg = readConfig();
  if (cfg.layers.length === 0 && view.unit[0] > 1) view.unit = [1, 0];
  send({ type: "config", config: cfg });
}

function handle(msg) {
  if (msg.type === "state") {
    if (msg.full) { view.full = msg; view.history = []; view.norms = []; }
    view.shot = msg;
    view.history.push([msg.batches, msg.train_cost, msg.test_cost]);
    view.norms.push([msg.batches, msg.grad_norms]);
    if (view.history.length > 600) { view.history.splice(0, view.history.length - 600); view.norms.splice(0, view.norms.length - 600); }
    if (msg.status === "diverged") { setRunning(false); message("Training diverged (the cost is no longer finite): " + msg.message + " Lower the learning rate or change the initialization, then Reset."); }
    render();
  } else if (msg.type === "equations") {
    renderEquations(msg);
  } else if (msg.type === "download") {
    const blob = new Blob([decode(msg.base64)], { type: msg.mime });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = msg.filename;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } else if (msg.type === "error") {
    setRunning(false);
    message(msg.message);
  }
}

function message(text, info) {
  const el = $("message");
  el.textContent = text; el.className = info ? "info" : ""; el.style.display = text ? "block" : "none";
  clearTimeout(message.timer);
  if (text) message.timer = setTimeout(() => { el.style.display = "none"; }, 8000);
}

function setRunning(on) {
  view.running = on;
  $("play").textContent = on ? "❚❚ Pause" : "▶ Start";
}

// --- rendering ------------------------------------------------------------------------------
function fmt(x) { return x === null || x === undefined ? "–" : Number(x).toFixed(3); }

function render() {
  const s = view.shot, f = view.full;
  if (!s || !f) return;
  $("epoch").textContent = s.epoch;
  $("batches").textContent = s.batches;
  $("train-cost").textContent = fmt(s.train_cost);
  $("test-cost").textContent = fmt(s.test_cost);
  $("accuracy").textContent = s.train_accuracy !== undefined
    ? `accuracy: train ${(100 * s.train_accuracy).toFixed(1)}%, test ${(100 * s.test_accuracy).toFixed(1)}%` : "";
  drawBoundary(); drawNetwork(); drawCosts(); drawNorms(); renderDims(); renderLayerBar();
}

function toPx(v, size) { return ((v + view.shot.view) / (2 * view.shot.view)) * size; }

function drawBoundary() {
  const cv = $("boundary"), ctx = cv.getContext("2d"), s = view.shot, f = view.full;
  ctx.clearRect(0, 0, cv.width, cv.height);
  drawMap(ctx, decode(s.boundary), s.grid, 0, 0, cv.width, cv.height);
  const reg = f.problem === "regression";
  const pts = [["train", f.points.train]];
  if ($("show-test").checked) pts.push(["test", f.points.test]);
  for (const [kind, list] of pts) {
    for (const [x, y, label] of list) {
      const px = toPx(x, cv.width), py = cv.height - toPx(y, cv.height);
      const [r, g, b] = colour(reg ? (Math.tanh(label) + 1) / 2 : label);
      ctx.beginPath(); ctx.arc(px, py, 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fill();
      ctx.lineWidth = kind === "test" ? 1.6 : 1; ctx.strokeStyle = kind === "test" ? "#000" : "#fff"; ctx.stroke();
    }
  }
}

function layout() {
  const f = view.full, cv = $("network");
  const dims = [2, ...f.config.layers, 1];
  const cols = dims.length, colW = cv.width / cols;
  const size = Math.min(44, (cv.height - 26) / Math.max(...dims) - 8);
  const pos = dims.map((n, l) => {
    const top = 22 + (cv.height - 22 - n * (size + 8)) / 2;
    return Array.from({ length: n }, (_, j) => ({ x: colW * l + (colW - size) / 2, y: top + j * (size + 8) }));
  });
  return { dims, pos, size, colW };
}

function drawNetwork() {
  const cv = $("network"), ctx = cv.getContext("2d"), s = view.shot;
  const { dims, pos, size } = layout();
  ctx.clearRect(0, 0, cv.width, cv.height);
  // weights
  for (let l = 1; l < dims.length; l++) {
    const W = s.weights[l - 1];
    let maxAbs = 1e-9;
    for (const row of W) for (const w of row) maxAbs = Math.max(maxAbs, Math.abs(w));
    for (let j = 0; j < dims[l]; j++) for (let k = 0; k < dims[l - 1]; k++) {
      const w = W[j][k], a = pos[l - 1][k], b = pos[l][j];
      ctx.beginPath(); ctx.moveTo(a.x + size, a.y + size / 2); ctx.lineTo(b.x, b.y + size / 2);
      ctx.strokeStyle = w >= 0 ? "rgba(8,119,189,0.75)" : "rgba(245,147,34,0.75)";
      ctx.lineWidth = 0.5 + 3.5 * Math.abs(w) / maxAbs; ctx.stroke();
    }
  }
  // inputs
  ctx.font = "13px system-ui"; ctx.fillStyle = "#333"; ctx.textAlign = "center";
  ["x₁", "x₂"].forEach((name, k) => {
    const p = pos[0][k];
    ctx.strokeStyle = "#999"; ctx.lineWidth = 1; ctx.strokeRect(p.x, p.y, size, size);
    ctx.fillText(name, p.x + size / 2, p.y + size / 2 + 5);
  });
  // hidden units: their output maps
  for (let l = 1; l < dims.length - 1; l++) {
    for (let j = 0; j < dims[l]; j++) {
      const p = pos[l][j];
      drawMap(ctx, decode(s.units[l - 1][j]), s.unit_grid, p.x, p.y, size, size);
      const chosen = view.unit[0] === l && view.unit[1] === j;
      ctx.lineWidth = chosen ? 3 : 1; ctx.strokeStyle = chosen ? "#000" : "#999"; ctx.strokeRect(p.x, p.y, size, size);
    }
  }
  // output
  const L = dims.length - 1, p = pos[L][0];
  drawMap(ctx, decode(s.boundary), s.grid, p.x, p.y, size, size);
  const chosen = view.unit[0] === L;
  ctx.lineWidth = chosen ? 3 : 1; ctx.strokeStyle = chosen ? "#000" : "#999"; ctx.strokeRect(p.x, p.y, size, size);
  // layer names
  ctx.fillStyle = "#666"; ctx.font = "11px system-ui";
  dims.forEach((n, l) => {
    const name = l === 0 ? "X = A[0]" : l === L ? `A[${l}] (output)` : `layer ${l}`;
    ctx.fillText(name, pos[l][0].x + size / 2, 12);
  });
}

function unitAt(ev) {
  const cv = $("network"), r = cv.getBoundingClientRect();
  const x = (ev.clientX - r.left) * cv.width / r.width, y = (ev.clientY - r.top) * cv.height / r.height;
  const { pos, size } = layout();
  for (let l = 1; l < pos.length; l++) for (let j = 0; j < pos[l].length; j++) {
    const p = pos[l][j];
    if (x >= p.x && x <= p.x + size && y >= p.y && y <= p.y + size) return [l, j];
  }
  return null;
}

function drawChart(cv, series, opts) {
  const ctx = cv.getContext("2d"), W = cv.width, H = cv.height, pad = 40;
  ctx.clearRect(0, 0, W, H);
  let xs = [], ys = [];
  for (const s of series) for (const [x, y] of s.points) if (y !== null && isFinite(y)) { xs.push(x); ys.push(y); }
  ctx.strokeStyle = "#ccc"; ctx.lineWidth = 1; ctx.strokeRect(pad, 4, W - pad - 4, H - 20);
  if (!ys.length) return;
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = opts.log ? Math.min(...ys) : 0, y1 = Math.max(...ys);
  if (y1 - y0 < 1e-9) { y1 = y0 + (opts.log ? 1 : 1e-3); }
  const X = (x) => pad + (x - x0) / (x1 - x0) * (W - pad - 6);
  const Y = (y) => 4 + (1 - (y - y0) / (y1 - y0)) * (H - 22);
  for (const s of series) {
    ctx.beginPath(); let started = false;
    for (const [x, y] of s.points) {
      if (y === null || !isFinite(y)) { started = false; continue; }
      if (!started) { ctx.moveTo(X(x), Y(y)); started = true; } else ctx.lineTo(X(x), Y(y));
    }
    ctx.strokeStyle = s.colour; ctx.lineWidth = s.width || 1.6; ctx.stroke();
  }
  ctx.fillStyle = "#666"; ctx.font = "10px system-ui"; ctx.textAlign = "right";
  const lab = (v) => { const x = opts.log ? 10 ** v : v; return x !== 0 && Math.abs(x) < 0.01 ? x.toExponential(0) : x.toPrecision(2); };
  ctx.fillText(lab(y1), pad - 2, 12); ctx.fillText(lab(y0), pad - 2, H - 16);
  ctx.textAlign = "left"; ctx.fillText(opts.xlabel, pad, H - 4);
  ctx.textAlign = "right"; ctx.fillText(String(x1), W - 4, H - 4);
}

function drawCosts() {
  drawChart($("costs"), [
    { points: view.history.map(([x, tr]) => [x, tr]), colour: "#222" },
    { points: view.history.map(([x, , te]) => [x, te]), colour: "#999", width: 1.4 },
  ], { xlabel: "mini-batches (train: black, test: grey)" });
}

function drawNorms() {
  const L = view.full.config.layers.length + 1, series = [];
  for (let l = 0; l < L; l++) {
    series.push({
      points: view.norms.map(([x, g]) => [x, g[l] === null || g[l] <= 0 ? null : Math.log10(g[l])]),
      colour: LAYER_COLORS[l % LAYER_COLORS.length],
    });
  }
  drawChart($("norms"), series, { log: true, xlabel: "mini-batches" });
  $("norms-legend").innerHTML = series.map((s, l) => `<span><i style="background:${s.colour}"></i>dW[${l + 1}]</span>`).join("");
}

function renderDims() {
  const f = view.full;
  $("dims-m").textContent = f.m;
  const shape = (s) => s ? `(${s[0]}, ${s[1]})` : "";
  $("dims").querySelector("tbody").innerHTML = f.dims.map((r) =>
    `<tr><td>${r.l}</td><td>${r.activation}</td><td>${shape(r.W)}</td><td>${shape(r.b)}</td><td>${shape(r.Z)}</td><td>${shape(r.A)}</td></tr>`).join("");
}

function renderLayerBar() {
  const layers = view.config.layers;
  $("layers-label").textContent = `${layers.length} hidden layer${layers.length === 1 ? "" : "s"}`;
  const bar = $("unit-buttons"), { colW } = layout();
  bar.style.marginLeft = `${colW * $("network").getBoundingClientRect().width / $("network").width}px`;
  bar.innerHTML = "";
  layers.forEach((n, i) => {
    const col = document.createElement("div");
    col.className = "col";
    col.style.width = `${colW * $("network").getBoundingClientRect().width / $("network").width}px`;
    for (const [sign, d] of [["−", -1], ["+", 1]]) {
      const b = document.createElement("button");
      b.textContent = sign; b.title = `${d > 0 ? "add a unit to" : "remove a unit from"} layer ${i + 1}`;
      b.onclick = () => { layers[i] = Math.max(1, Math.min(MAX_UNITS, n + d)); fixUnit(); sendConfig(); };
      col.appendChild(b);
    }
    bar.appendChild(col);
  });
}

function fixUnit() {
  const dims = [2, ...view.config.layers, 1];
  if (view.unit[0] >= dims.length) view.unit = [dims.length - 1, 0];
  if (view.unit[1] >= dims[view.unit[0]]) view.unit = [view.unit[0], 0];
}

function renderEquations(eq) {
  $("unit-name").textContent = `unit ${eq.unit + 1} of layer ${eq.layer}`;
  $("equations").textContent = eq.lines.join("\n");
}

// --- the dataset thumbnails ------------------------------------------------------------------
function thumbnail(name) {
  const cv = document.createElement("canvas"); cv.width = 52; cv.height = 52;
  const ctx = cv.getContext("2d");
  ctx.fillStyle = "#f3f3f3"; ctx.fillRect(0, 0, 52, 52);
  const dot = (x, y, v) => { const [r, g, b] = colour(v); ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fillRect(26 + x * 4.2 - 1.5, 26 - y * 4.2 - 1.5, 3, 3); };
  let seed = 7; const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 160; i++) {
    const t = rnd() * 2 * Math.PI, u = rnd();
    if (name === "circles") { const inner = i % 2; const r = inner ? u * 2.5 : 3.5 + u * 1.5; dot(r * Math.cos(t), r * Math.sin(t), inner); }
    else if (name === "xor") { const x = rnd() * 10 - 5, y = rnd() * 10 - 5; dot(x, y, x * y > 0 ? 1 : 0); }
    else if (name === "gaussians") { const c = i % 2 ? 2 : -2; dot(c + (u - 0.5) * 2.5, c + (rnd() - 0.5) * 2.5, i % 2); }
    else if (name === "spiral") { const k = i % 2, s = (i >> 1) / 80, r = s * 5, a = 1.75 * s * 2 * Math.PI + k * Math.PI; dot(r * Math.sin(a), r * Math.cos(a), 1 - k); }
    else if (name === "moons") { const k = i % 2, a = u * Math.PI; dot(k ? (Math.cos(a) - 0.5) * 3.5 : (0.5 - Math.cos(a)) * 3.5, k ? (Math.sin(a) - 0.25) * 3.5 : (0.25 - Math.sin(a)) * 3.5, k); }
    else if (name === "plane") { const x = rnd() * 10 - 5, y = rnd() * 10 - 5; dot(x, y, (x + y) / 20 + 0.5); }
    else if (name === "bumps") { const x = rnd() * 10 - 5, y = rnd() * 10 - 5; dot(x, y, (Math.exp(-((x - 2) ** 2 + (y - 2) ** 2) / 4) - Math.exp(-((x + 2) ** 2 + (y + 2) ** 2) / 4) + 1) / 2); }
  }
  return cv;
}

function renderDatasets() {
  const box = $("datasets"), problem = $("problem").value;
  box.innerHTML = "";
  const names = [...DATASETS[problem]];
  if (view.config.dataset === "csv") names.push("csv");
  if (!names.includes(view.config.dataset)) view.config.dataset = names[0];
  for (const name of names) {
    const b = document.createElement("button");
    b.dataset.name = name; b.title = name;
    if (name !== "csv") b.appendChild(thumbnail(name));
    b.appendChild(document.createTextNode(name));
    if (name === view.config.dataset) b.classList.add("selected");
    b.onclick = () => { view.config.dataset = name; renderDatasets(); sendConfig(); };
    box.appendChild(b);
  }
}

// --- wiring -------------------------------------------------------------------------------
function init() {
  renderDatasets();
  $("play").onclick = () => {
    if (view.running) { setRunning(false); send({ type: "pause" }); }
    else { setRunning(true); send({ type: "start" }); }
  };
  $("step").onclick = () => { setRunning(false); send({ type: "step", layer: view.unit[0], unit: view.unit[1] }); };
  $("reset").onclick = () => { setRunning(false); view.history = []; view.norms = []; send({ type: "reset" }); };
  $("regenerate").onclick = sendConfig;
  for (const id of ["learning_rate", "activation", "init", "optimizer", "batch_size", "l2", "keep_prob", "seed"]) {
    $(id).onchange = sendConfig;
  }
  $("problem").onchange = () => { renderDatasets(); sendConfig(); };
  for (const [id, label, scale] of [["noise", "noise-v", 1], ["train_fraction", "train-v", 1], ["n_points", "points-v", 1]]) {
    $(id).oninput = () => { $(label).textContent = Number($(id).value) * scale; };
    $(id).onchange = sendConfig;
  }
  $("show-test").onchange = () => render();
  $("add-layer").onclick = () => { if (view.config.layers.length < MAX_LAYERS) { view.config.layers.push(4); sendConfig(); } };
  $("remove-layer").onclick = () => { if (view.config.layers.length > 0) { view.config.layers.pop(); fixUnit(); sendConfig(); } };
  $("csv").onchange = () => {
    const file = $("csv").files[0];
    if (!file) return;
    if (file.size > 200000) { message("That CSV is larger than 200 kB; the playground takes at most 1000 rows."); return; }
    file.text().then((text) => { view.config.csv_text = text; view.config.dataset = "csv"; renderDatasets(); sendConfig(); });
  };
  $("network").onclick = (ev) => {
    const u = unitAt(ev);
    if (!u) return;
    view.unit = u; render();
    send({ type: "unit", layer: u[0], unit: u[1] });
  };
  $("export-model").onclick = () => send({ type: "export_model" });
  $("export-python").onclick = () => send({ type: "export_python" });
  window.addEventListener("resize", () => view.full && renderLayerBar());
  connect();
}

document.addEventListener("DOMContentLoaded", init);
