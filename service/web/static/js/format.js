// Wording shared by the three views: outcome types, terms in 年/月, dates, circumstances, levels.

export const TYPE_WORDS = {
  fixed_term: "有期徒刑",
  detention: "拘役",
  surveillance: "管制",
  death: "死刑",
  death_suspended: "死刑缓期二年执行",
  life: "无期徒刑",
  fine_only: "单处罚金",
  exemption: "免予刑事处罚",
  not_guilty: "无罪",
};

export const LEVEL_WORDS = { none: "无偏离", notice: "提示", warning: "警告", severe: "严重偏离" };
export const LEVEL_HELP = {
  none: "拟判刑罚在类似案件的常见范围内。",
  notice: "拟判刑罚超出 80% 区间，请留意。",
  warning: "拟判刑罚超出 95% 区间，已生成预警，审判管理人员会看到。",
  severe: "拟判刑罚超出 99% 区间，已生成预警，审判管理人员会看到。",
};
export const STATUS_WORDS = { open: "待处理", acknowledged: "已确认" };
export const RESOLUTION_WORDS = { justified: "偏离有正当理由", corrected: "已纠正量刑" };

export function months(m) {
  if (m === null || m === undefined || !Number.isFinite(Number(m))) return "—";
  const total = Math.round(Number(m));
  const years = Math.floor(total / 12);
  const rest = total % 12;
  if (years && rest) return `${years}年${rest}个月`;
  if (years) return `${years}年`;
  return `${rest}个月`;
}

export function range(r) {
  if (!r) return "—";
  const [lo, hi] = r;
  if (!Number.isFinite(Number(hi))) return `${months(lo)}以上`;
  return `${months(lo)} 至 ${months(hi)}`;
}

export function percent(x, digits = 0) {
  if (x === null || x === undefined) return "—";
  return `${(100 * x).toFixed(digits)}%`;
}

/** One outcome from the API ({type, months, probation_months, fine_yuan}) in words. */
export function outcome(o) {
  if (!o) return "未能从文书中识别";
  const kind = TYPE_WORDS[o.type] || o.type;
  let text = kind;
  if (o.months && ["fixed_term", "detention", "surveillance"].includes(o.type)) text += months(o.months);
  if (o.probation_months) text += `，缓刑${months(o.probation_months)}`;
  if (o.fine_yuan) text += `，罚金${Number(o.fine_yuan).toLocaleString("zh-CN")}元`;
  return text;
}

export function date(d) {
  if (!d) return "日期不详";
  return String(d).slice(0, 10);
}

export function dateTime(d) {
  if (!d) return "—";
  return String(d).replace("T", " ").slice(0, 16);
}

/** Create an element: el("p", {class: "x"}, "text", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Text with [start, end) spans wrapped in <mark>; spans come from the API (search highlights). */
export function highlighted(text, spans) {
  const frag = document.createDocumentFragment();
  let pos = 0;
  for (const s of [...(spans || [])].sort((a, b) => a.start - b.start)) {
    if (s.start < pos) continue;
    frag.append(text.slice(pos, s.start), el("mark", {}, text.slice(s.start, s.end)));
    pos = s.end;
  }
  frag.append(text.slice(pos));
  return frag;
}

/** Spans of each term in text, for texts the API returns without spans (compared cases). */
export function spansOf(text, terms) {
  const spans = [];
  for (const term of terms || []) {
    if (!term) continue;
    let at = text.indexOf(term);
    while (at >= 0) {
      spans.push({ start: at, end: at + term.length, term });
      at = text.indexOf(term, at + term.length);
    }
  }
  return spans;
}

export function chips(label, items, cls = "") {
  if (!items || !items.length) return null;
  return el("div", { class: "chips" }, el("span", { class: "chips-label" }, label),
    ...items.map((t) => el("span", { class: `chip ${cls}` }, String(t))));
}

const QUANTITY_WORDS = {
  amount_yuan: ["涉案金额", "元"],
  drug_grams: ["毒品数量", "克"],
  blood_alcohol_mg_100ml: ["血液酒精含量", "mg/100ml"],
  "injuries.deaths": ["死亡人数", "人"],
  "injuries.serious": ["重伤人数", "人"],
  "injuries.minor": ["轻伤人数", "人"],
  "injuries.slight": ["轻微伤人数", "人"],
  drug_type: ["毒品种类", ""],
};

/** A civil case's legal elements (why.elements: 借款本金, 约定年利率 …) as a table of both sides. */
export function elementTable(elements) {
  if (!elements || !elements.length) return null;
  const verdict = { true: "相同", false: "不同", null: "仅一方载明" };
  const rows = elements.map((e) => el("tr", { class: e.same === false ? "differs" : "" },
    el("th", { scope: "row" }, e.label), el("td", {}, e.draft_text ?? "—"), el("td", {}, e.case_text ?? "—"),
    el("td", {}, verdict[String(e.same)])));
  return el("table", { class: "quantities elements" },
    el("caption", {}, "案件要素对比"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "要素"), el("th", { scope: "col" }, "本案"),
      el("th", { scope: "col" }, "类案"), el("th", { scope: "col" }, ""))),
    el("tbody", {}, rows));
}

/** The quantities both texts state (why.quantities) as a small table. */
export function quantityTable(quantities) {
  const keys = Object.keys(quantities || {});
  if (!keys.length) return null;
  const rows = keys.map((k) => {
    const [name, unit] = QUANTITY_WORDS[k] || [k, ""];
    const q = quantities[k];
    const fmt = (v) => (typeof v === "number" ? `${v.toLocaleString("zh-CN")}${unit}` : String(v));
    return el("tr", {}, el("th", { scope: "row" }, name), el("td", {}, fmt(q.draft)), el("td", {}, fmt(q.case)));
  });
  return el("table", { class: "quantities" },
    el("caption", {}, "关键数量对比"),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "项目"), el("th", { scope: "col" }, "本案"), el("th", { scope: "col" }, "类案"))),
    el("tbody", {}, rows));
}
