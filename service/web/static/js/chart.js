// Small inline-SVG charts: the similar cases' sentence distribution with the expected range and the
// proposal marked, and horizontal bar / interval charts for the trial managers' statistics.

import { months } from "./format.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceStep(span, target) {
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 3, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

const finite = (v) => v !== null && v !== undefined && Number.isFinite(Number(v));

/**
 * Sentence distribution chart.
 * @param {object} dist  API `distribution`: {months: [...], bins: [{from, to, count}]}
 * @param {object} expected  API `expected` (range_80, range_95, median_months)
 * @param {number|null} proposed  proposed term in months, or null
 */
export function distributionChart(dist, expected, proposed = null) {
  const bins = (dist && dist.bins) || [];
  const W = 640, H = 250, L = 44, R = 16, T = 28, B = 44;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart distribution-chart", role: "img", "data-testid": "distribution-chart" });
  const r80 = expected && expected.range_80;
  const r95 = expected && expected.range_95;
  const median = expected && finite(expected.median_months) ? Number(expected.median_months) : null;
  const summary = [`${(dist && dist.months && dist.months.length) || 0} 件类似案件的刑期分布`];
  if (r80) summary.push(`80% 区间 ${months(r80[0])} 至 ${finite(r80[1]) ? months(r80[1]) : "以上"}`);
  if (median !== null) summary.push(`中位数 ${months(median)}`);
  if (finite(proposed)) summary.push(`拟判 ${months(proposed)}`);
  root.setAttribute("aria-label", summary.join("，"));
  root.append(svg("title", {}, summary.join("，")));

  if (!bins.length) {
    root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "chart-empty" }, "类似案件中没有可比较的刑期（如均为罚金、免予处罚）"));
    return root;
  }
  const xs = [bins[0].from, bins[bins.length - 1].to];
  for (const r of [r80, r95]) if (r) xs.push(...r.filter(finite).map(Number));
  if (median !== null) xs.push(median);
  if (finite(proposed)) xs.push(Number(proposed));
  let x0 = Math.max(0, Math.min(...xs));
  let x1 = Math.max(...xs);
  const pad = (x1 - x0) * 0.04 || 1;
  x0 = Math.max(0, x0 - pad);
  x1 += pad;
  const maxCount = Math.max(...bins.map((b) => b.count), 1);
  const px = (m) => L + ((Math.min(Math.max(m, x0), x1) - x0) / (x1 - x0)) * (W - L - R);
  const py = (c) => H - B - (c / maxCount) * (H - B - T);

  // expected ranges behind the bars
  if (r95) {
    const hi = finite(r95[1]) ? r95[1] : x1;
    root.append(svg("rect", { x: px(r95[0]), y: T - 6, width: Math.max(1, px(hi) - px(r95[0])), height: H - B - T + 6, class: "range-95", "data-testid": "range-95" }));
  }
  if (r80) {
    const hi = finite(r80[1]) ? r80[1] : x1;
    root.append(svg("rect", { x: px(r80[0]), y: T - 6, width: Math.max(1, px(hi) - px(r80[0])), height: H - B - T + 6, class: "range-80", "data-testid": "range-80" }));
  }

  // axes and ticks
  const yStep = Math.max(1, niceStep(maxCount, 4));
  for (let c = 0; c <= maxCount; c += yStep) {
    root.append(svg("line", { x1: L, x2: W - R, y1: py(c), y2: py(c), class: "grid" }));
    root.append(svg("text", { x: L - 6, y: py(c) + 4, "text-anchor": "end", class: "tick" }, String(c)));
  }
  const useYears = x1 - x0 > 48;
  const xStep = useYears ? Math.max(12, Math.ceil(niceStep(x1 - x0, 8) / 12) * 12) : niceStep(x1 - x0, 8);
  for (let m = Math.ceil(x0 / xStep) * xStep; m <= x1; m += xStep) {
    root.append(svg("line", { x1: px(m), x2: px(m), y1: H - B, y2: H - B + 4, class: "axis" }));
    root.append(svg("text", { x: px(m), y: H - B + 17, "text-anchor": "middle", class: "tick" }, useYears ? `${m / 12}年` : `${m}`));
  }
  root.append(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  root.append(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, useYears ? "刑期（年）" : "刑期（月）"));
  root.append(svg("text", { x: 10, y: T - 12, class: "axis-label" }, "案件数"));

  // bars
  for (const b of bins) {
    const x = px(b.from) + 1;
    const w = Math.max(2, px(b.to) - px(b.from) - 2);
    const bar = svg("rect", { x, y: py(b.count), width: w, height: H - B - py(b.count), class: "bar", "data-count": b.count });
    bar.append(svg("title", {}, `${months(b.from)} 至 ${months(b.to)}：${b.count} 件`));
    root.append(bar);
  }

  if (median !== null) {
    root.append(svg("line", { x1: px(median), x2: px(median), y1: T - 6, y2: H - B, class: "median", "data-testid": "median" }));
  }
  if (finite(proposed)) {
    const x = px(Number(proposed));
    const mark = svg("g", { class: "proposal", "data-testid": "proposal-mark" });
    mark.append(svg("line", { x1: x, x2: x, y1: T - 4, y2: H - B }));
    mark.append(svg("path", { d: `M${x - 6},${T - 14} L${x + 6},${T - 14} L${x},${T - 4} Z` }));
    const anchor = x > W - 90 ? "end" : x < 90 ? "start" : "middle";
    mark.append(svg("text", { x, y: T - 17, "text-anchor": anchor }, `拟判 ${months(proposed)}`));
    root.append(mark);
  }
  return root;
}

/**
 * Horizontal bars, one row per group.
 * @param {{label: string, value: number, note?: string}[]} rows
 * @param {{max?: number, format: (v: number) => string, label: string, testid?: string}} opts
 */
export function barChart(rows, opts) {
  const rowH = 26, L = 150, R = 90, T = 8;
  const W = 520, H = T + rows.length * rowH + 8;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart bar-chart", role: "img", "aria-label": opts.label });
  if (opts.testid) root.setAttribute("data-testid", opts.testid);
  root.append(svg("title", {}, opts.label));
  const max = opts.max || Math.max(...rows.map((r) => r.value), 1e-9);
  rows.forEach((r, i) => {
    const y = T + i * rowH;
    root.append(svg("text", { x: L - 8, y: y + 17, "text-anchor": "end", class: "tick" }, shorten(r.label, 12)));
    const w = Math.max(r.value > 0 ? 2 : 0, (r.value / max) * (W - L - R));
    const bar = svg("rect", { x: L, y: y + 4, width: w, height: rowH - 8, class: "bar", "data-value": r.value });
    bar.append(svg("title", {}, `${r.label}：${opts.format(r.value)}${r.note ? `（${r.note}）` : ""}`));
    root.append(bar);
    root.append(svg("text", { x: L + w + 6, y: y + 17, class: "value" }, `${opts.format(r.value)}${r.note ? ` ${r.note}` : ""}`));
  });
  return root;
}

/**
 * Per group, the middle half of the sentences (p25 to p75) as a bar and the median as a tick.
 * @param {{label: string, p25: number, median: number, p75: number, cases: number}[]} rows
 */
export function intervalChart(rows, label) {
  const rowH = 26, L = 150, R = 90, T = 8, B = 30;
  const W = 520, H = T + rows.length * rowH + B;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart interval-chart", role: "img", "aria-label": label, "data-testid": "sentencing-chart" });
  root.append(svg("title", {}, label));
  const max = Math.max(...rows.map((r) => r.p75), 1);
  const px = (m) => L + (m / max) * (W - L - R);
  const step = max > 48 ? Math.max(12, Math.ceil(niceStep(max, 6) / 12) * 12) : niceStep(max, 6);
  for (let m = 0; m <= max; m += step) {
    root.append(svg("line", { x1: px(m), x2: px(m), y1: T, y2: H - B, class: "grid" }));
    root.append(svg("text", { x: px(m), y: H - B + 16, "text-anchor": "middle", class: "tick" }, max > 48 ? `${m / 12}年` : `${m}月`));
  }
  rows.forEach((r, i) => {
    const y = T + i * rowH;
    root.append(svg("text", { x: L - 8, y: y + 17, "text-anchor": "end", class: "tick" }, shorten(r.label, 12)));
    const bar = svg("rect", { x: px(r.p25), y: y + 5, width: Math.max(2, px(r.p75) - px(r.p25)), height: rowH - 10, class: "bar" });
    bar.append(svg("title", {}, `${r.label}：中间一半案件 ${months(r.p25)} 至 ${months(r.p75)}，中位数 ${months(r.median)}，共 ${r.cases} 件`));
    root.append(bar);
    root.append(svg("line", { x1: px(r.median), x2: px(r.median), y1: y + 2, y2: y + rowH - 2, class: "median" }));
    root.append(svg("text", { x: px(r.p75) + 6, y: y + 17, class: "value" }, `中位 ${months(r.median)}`));
  });
  return root;
}

function shorten(text, n) {
  const s = String(text);
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
