"use strict";
(function () {
  const D = JSON.parse(document.getElementById("flame-data").textContent);
  const N = D.parent.length, ROW = 18;
  const kids = Array.from({length: N}, () => []);
  for (let i = 1; i < N; i++) kids[D.parent[i]].push(i);
  const depth = new Int32Array(N);
  let maxDepth = 0;
  for (let i = 1; i < N; i++) { depth[i] = depth[D.parent[i]] + 1; if (depth[i] > maxDepth) maxDepth = depth[i]; }
  const candOf = new Map();
  D.cand.forEach((k, nameIndex) => { if (k >= 0) candOf.set(nameIndex, D.candidates[k]); });
  const canvas = document.getElementById("fg"), ctx = canvas.getContext("2d");
  const tip = document.getElementById("tip");
  let view = D.diff ? "diff" : "both", zoom = 0, query = "", boxes = [];
  const x0 = new Float64Array(N);

  function weight(i) {
    if (view === "on" || view === "diff") return D.a[i];
    if (view === "off") return D.b[i];
    return D.a[i] + D.b[i];
  }
  function layoutX() {
    // nodes come depth-first with children in drawing order: a running cursor per parent
    const cursor = new Float64Array(N);
    x0[0] = 0; cursor[0] = 0;
    for (let i = 1; i < N; i++) {
      const p = D.parent[i];
      x0[i] = cursor[p] + x0[p]; cursor[p] += weight(i); cursor[i] = 0;
    }
  }
  function hash(s) { let h = 0; for (let k = 0; k < s.length; k++) h = (h * 31 + s.charCodeAt(k)) | 0; return h >>> 0; }
  function color(i, name) {
    if (query && name.toLowerCase().includes(query)) return "rgb(230,0,230)";
    if (view === "diff") {
      const a = D.a[i], b = D.b[i], m = Math.max(a, b) || 1, d = (a - b) / m;
      const l = Math.round(255 - 170 * Math.min(1, Math.abs(d)));
      return d > 0 ? `rgb(255,${l},${l})` : d < 0 ? `rgb(${l},${l},255)` : "rgb(221,221,221)";
    }
    const h = hash(name);
    if (view === "off" || (view === "both" && D.b[i] > D.a[i]))
      return `rgb(${60 + h % 50},${120 + h % 80},${200 + h % 55})`;
    return `rgb(${205 + h % 50},${80 + h % 150},${h % 55})`;
  }
  function fmt(v) { return Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en") : (+v.toPrecision(3)).toString(); }
  function draw() {
    layoutX();
    const W = canvas.clientWidth || 1000, H = (maxDepth + 1) * ROW + 4, dpr = window.devicePixelRatio || 1;
    canvas.width = W * dpr; canvas.height = H * dpr; canvas.style.height = H + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = "11px Verdana, sans-serif"; ctx.textBaseline = "middle";
    const zw = weight(zoom) || 1, zx = x0[zoom], scale = W / zw, zd = depth[zoom];
    boxes = [];
    let matched = 0;
    for (let i = 0; i < N; i++) {
      const w = weight(i);
      if (w <= 0) continue;
      let x, pw;
      if (depth[i] < zd) {            // ancestors of the zoomed frame span the width
        let a = zoom; while (depth[a] > depth[i]) a = D.parent[a];
        if (a !== i) continue;
        x = 0; pw = W;
      } else {
        x = (x0[i] - zx) * scale; pw = w * scale;
        if (x + pw < 0 || x > W || pw < 0.3) continue;
        if (depth[i] === zd && i !== zoom) continue;
        if (depth[i] > zd) { let a = i; while (depth[a] > zd) a = D.parent[a]; if (a !== zoom) continue; }
      }
      const y = depth[i] * ROW;       // root at the top (an icicle): the wide frames are seen first
      const name = D.names[D.name[i]];
      if (query && name.toLowerCase().includes(query)) {
        let a = D.parent[i], inner = false;
        while (a > 0) { if (D.names[D.name[a]].toLowerCase().includes(query)) { inner = true; break; } a = D.parent[a]; }
        if (!inner) matched += w;
      }
      ctx.fillStyle = color(i, name);
      ctx.fillRect(x, y, Math.max(pw - 0.5, 0.3), ROW - 1);
      const cand = candOf.get(D.name[i]);
      if (cand) { ctx.strokeStyle = "#6a0dad"; ctx.lineWidth = 2; ctx.strokeRect(x + 1, y + 1, pw - 2, ROW - 3); }
      if (pw > 24) {
        const label = (cand ? "#" + cand[0] + " " : "") + name;
        const fit = Math.floor((pw - 6) / 6.6);
        ctx.fillStyle = "#000";
        ctx.fillText(label.length > fit ? label.slice(0, Math.max(fit - 2, 1)) + ".." : label, x + 3, y + ROW / 2);
      }
      boxes.push([x, y, pw, i]);
    }
    const total = weight(0) || 1;
    let s = `${fmt(weight(zoom))} ${D.unit} shown`;
    if (query) s += `; "${query}" matches ${(100 * matched / total).toFixed(2)}% of the total`;
    document.getElementById("status").textContent = s;
  }
  function nodeAt(ev) {
    const r = canvas.getBoundingClientRect(), mx = ev.clientX - r.left, my = ev.clientY - r.top;
    for (let k = boxes.length - 1; k >= 0; k--) {
      const b = boxes[k];
      if (mx >= b[0] && mx <= b[0] + b[2] && my >= b[1] && my <= b[1] + ROW) return b[3];
    }
    return -1;
  }
  canvas.addEventListener("mousemove", (ev) => {
    const i = nodeAt(ev);
    if (i < 0) { tip.style.display = "none"; return; }
    const name = D.names[D.name[i]], tot = weight(0) || 1;
    let t = `${name}\n${fmt(weight(i))} ${D.unit} (${(100 * weight(i) / tot).toFixed(2)}%)`;
    if (D.diff) {
      const d = D.a[i] - D.b[i];
      t += `\n${D.labels[0]}: ${fmt(D.a[i])}   ${D.labels[1]} (scaled): ${fmt(D.b[i])}   change: ${d >= 0 ? "+" : ""}${fmt(d)}`;
    } else if (D.offKnown) {
      t += `\non-CPU ${fmt(D.a[i])}, off-CPU ${fmt(D.b[i])}`;
    }
    const c = candOf.get(D.name[i]);
    if (c) t += `\ncandidate #${c[0]}: share ${(100 * c[1]).toFixed(1)}%, Amdahl limit ${c[2] === null ? "inf" : (+c[2]).toFixed(2)}x, ${c[3]}`;
    tip.textContent = t;
    const r = canvas.getBoundingClientRect();
    tip.style.left = Math.min(ev.clientX - r.left + 12, r.width - 300) + "px";
    tip.style.top = (ev.clientY - r.top + 12) + "px";
    tip.style.display = "block";
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  canvas.addEventListener("click", (ev) => { const i = nodeAt(ev); if (i >= 0) { zoom = i; draw(); } });
  document.getElementById("reset").addEventListener("click", () => { zoom = 0; draw(); });
  document.getElementById("search").addEventListener("input", (ev) => { query = ev.target.value.toLowerCase(); draw(); });
  for (const r of document.querySelectorAll("input[name=view]"))
    r.addEventListener("change", (ev) => { view = ev.target.value; zoom = 0; draw(); });
  window.addEventListener("resize", draw);

  document.getElementById("title").textContent = D.title;
  if (D.diff) {
    document.getElementById("views").style.display = "none";
    const lg = document.getElementById("legend");
    for (const [col, txt] of [["rgb(255,90,90)", "more in " + D.labels[0]], ["rgb(90,90,255)", "less than in " + D.labels[1]]]) {
      const sw = document.createElement("span"); sw.style.background = col; lg.appendChild(sw);
      lg.appendChild(document.createTextNode(txt));
    }
  } else if (!D.offKnown) {
    for (const r of document.querySelectorAll("input[name=view]")) if (r.value === "off") r.disabled = true;
  }
  const ol = document.getElementById("cands");
  if (!D.candidates.length) {
    const li = document.createElement("li");
    li.textContent = D.ranked ? "none above the threshold" : "not ranked (see the notes)";
    ol.appendChild(li);
  }
  D.candidates.forEach((c, k) => {
    const li = document.createElement("li");
    li.textContent = `${c[5]} \u2014 ${(100 * c[1]).toFixed(1)}% of the run, Amdahl ${c[2] === null ? "inf" : (+c[2]).toFixed(2)}x, ${c[3]}`;
    li.addEventListener("click", () => {
      let best = -1;
      for (let i = 1; i < N; i++) if (D.cand[D.name[i]] === k && (best < 0 || weight(i) > weight(best))) best = i;
      if (best >= 0) { zoom = best; draw(); }
    });
    ol.appendChild(li);
  });
  const ul = document.getElementById("notes");
  const notes = D.notes.slice();
  if (!D.merged) notes.push("no call path was merged (all frames are drawn)");
  for (const n of notes) { const li = document.createElement("li"); li.textContent = n; ul.appendChild(li); }
  document.body.setAttribute("data-rendered", String(N));
  draw();
})();
