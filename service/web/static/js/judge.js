// Judge view: a draft (pasted or a .txt file), optional charges and proposed sentence -> similar cases
// with why, the sentence distribution chart with the expected range and the proposal, the deviation
// level with its reasons; a 类案检索报告 (.docx) of the same draft to download; and a comparison with
// cases the parties submitted.

import { api, apiFile } from "./api.js";
import { caseCard, whyBlock } from "./cases.js";
import { distributionChart } from "./chart.js";
import { LEVEL_HELP, LEVEL_WORDS, TYPE_WORDS, el, highlighted, months, outcome, percent, range, spansOf } from "./format.js";
import { bindTextFile, chargePicker, requiredText, showError, showInfo, withProgress } from "./ui.js";

const TERM_TYPES = ["fixed_term", "detention", "surveillance"];
const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

function proposal() {
  const type = document.getElementById("judge-type").value;
  if (!type) return null;
  const p = { type };
  if (TERM_TYPES.includes(type)) {
    const years = Number(document.getElementById("judge-years").value || 0);
    const rest = Number(document.getElementById("judge-months").value || 0);
    p.months = years * 12 + rest;
  }
  const probationBox = document.getElementById("judge-probation");
  const probation = probationBox.disabled ? 0 : Number(probationBox.value || 0);
  if (probation) p.probation_months = probation;
  const fine = document.getElementById("judge-fine").value;
  if (fine !== "") p.fine = Number(fine);
  return p;
}

function optional(id) {
  const v = document.getElementById(id).value.trim();
  return v || undefined;
}

function expectedBlock(exp) {
  const rows = [
    ["最可能的刑罚", TYPE_WORDS[exp.outcome_type] || exp.outcome_type],
    ["刑期中位数", exp.median_months === null ? "—（最可能为死刑或无期徒刑）" : months(exp.median_months)],
    ["50% 区间", range(exp.range_50)],
    ["80% 区间（常见范围）", range(exp.range_80)],
    ["95% 区间", range(exp.range_95)],
    ["适用缓刑的可能性", percent(exp.probation_probability)],
    ["参考的类似案件", `${exp.n_neighbours} 件`],
  ];
  return el("dl", { class: "figures", "data-testid": "expected" }, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function deviationSummary(dev) {
  const parts = [];
  if (dev.direction === "above") parts.push("拟判刑罚比类似案件重");
  else if (dev.direction === "below") parts.push("拟判刑罚比类似案件轻");
  if (dev.ratio_to_median) parts.push(`约为模型预期刑期中位数的 ${Number(dev.ratio_to_median).toFixed(1)} 倍`);
  if (dev.kind === "type" && dev.proposed_type_probability !== null && dev.proposed_type_probability !== undefined) {
    parts.push(`模型认为此类案件判处该刑种的可能性约为 ${percent(dev.proposed_type_probability)}`);
  }
  const t = dev.threshold;
  if (t) parts.push(`对照的阈值按 ${t.n} 件真实判决校准，历史误报率 ${percent(t.measured_false_alarm, 1)}`);
  return parts.join("；");
}

function deviationBlock(dev, alertId) {
  if (!dev) return el("p", { class: "muted" }, "未填写拟判刑罚：只显示预期范围。");
  return el("div", { class: `deviation level-${dev.level}`, "data-testid": "deviation", "data-level": dev.level },
    el("p", { class: "level-line" }, "偏离程度：", el("strong", { class: "level-badge" }, LEVEL_WORDS[dev.level] || dev.level),
      ` 拟判：${outcome(dev.proposed)}`),
    el("p", {}, LEVEL_HELP[dev.level] || ""),
    el("p", {}, deviationSummary(dev)),
    alertId ? el("p", { class: "alert-note" }, `已生成预警，编号 ${alertId}。`) : null,
    dev.reasons && dev.reasons.length
      ? el("details", { class: "reasons", open: true }, el("summary", {}, "偏离原因（模型说明）"),
        el("ul", {}, ...dev.reasons.map((r) => el("li", {}, r))))
      : null);
}

function pct(x) {
  if (x === null || x === undefined) return "—";
  return `${x > 0 ? "+" : ""}${Math.round(x)}%`;
}

function guidelinePct(range) {
  if (!range || (range[0] === null && range[1] === null)) return "指导意见未规定比例";
  const [lo, hi] = range;
  return `指导意见 ${lo === null ? "?" : pct(lo)} 至 ${hi === null ? "?" : pct(hi)}`;
}

/** The guideline's steps: bracket, starting point, baseline, each circumstance, the expected sentence. */
const CHARGE_SOURCE = { given: "按您选择", extracted: "从文书中识别", predicted: "未写明罪名，按事实预测", none: "未识别" };

function chargesLine(draft) {
  if (draft.charges_source === "predicted" && draft.predicted_charges && draft.predicted_charges.length) {
    const named = draft.predicted_charges.map((p) => `${p.charge}（${percent(p.probability)}）`).join("、");
    return `${named}（${CHARGE_SOURCE.predicted}）`;
  }
  return `${draft.charges.join("、") || "未识别"}（${CHARGE_SOURCE[draft.charges_source] || draft.charges_source}）`;
}

function formerNames(draft) {
  const w = draft.charges_as_written || {};
  const names = Object.entries(w);
  if (!names.length) return null;
  return el("p", { class: "muted" }, names.map(([cur, old]) => `“${old}”现称“${cur}”`).join("；"));
}

function stepsBlock(steps, departsAt) {
  if (!steps || !steps.length) return null;
  const rows = steps.map((s) => {
    const figure = s.step === "bracket" ? range(s.range_months)
      : s.step === "circumstance" ? `${pct(s.change_pct)}（${guidelinePct(s.guideline_pct)}）`
        : s.months !== null && s.months !== undefined ? months(s.months) : "—";
    const departs = departsAt && departsAt.step === s.step;
    return el("tr", { class: [s.within_guideline === false ? "outside-guideline" : "", departs ? "departs" : ""].join(" ").trim(),
      "data-step": s.step },
      el("th", { scope: "row" }, s.title),
      el("td", { class: "step-figure" }, figure),
      el("td", {}, s.text, s.source ? el("span", { class: "muted source" }, `（${s.source}）`) : null));
  });
  return el("details", { class: "steps", open: true, "data-testid": "steps" },
    el("summary", {}, "量刑步骤（法定刑幅度 → 量刑起点 → 基准刑 → 情节调节 → 宣告刑）"),
    el("table", { class: "steps-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "步骤"), el("th", {}, "数值"), el("th", {}, "说明"))),
      el("tbody", {}, ...rows)),
    departsAt ? el("p", { class: "departs-note", "data-testid": "departs-at" }, `拟判刑罚在“${departsAt.title}”一步偏离：${departsAt.text}`) : null);
}

function statutoryBlock(dev) {
  const st = dev && dev.statutory;
  if (!st || !st.outside) return null;
  return el("div", { class: "statutory-alert", role: "alert", "data-testid": "statutory" },
    el("strong", {}, "超出法定刑幅度"), el("ul", {}, ...st.reasons.map((r) => el("li", {}, r))));
}

function legend(withProposal) {
  return el("ul", { class: "legend", "aria-label": "图例" },
    el("li", {}, el("span", { class: "swatch bar" }), "类似案件数"),
    el("li", {}, el("span", { class: "swatch range-80" }), "80% 区间"),
    el("li", {}, el("span", { class: "swatch range-95" }), "95% 区间"),
    el("li", {}, el("span", { class: "swatch median" }), "中位数"),
    withProposal ? el("li", {}, el("span", { class: "swatch proposal" }), "拟判刑期") : null);
}

/** The chart, figures and legend for an assessment; shared with the litigant view. */
export function sentencingBlock(result, proposedMonths) {
  return el("div", { class: "sentencing" },
    el("figure", { class: "chart-box" },
      distributionChart(result.distribution, result.expected, proposedMonths),
      el("figcaption", {}, "类似案件的刑期分布（阴影为模型校准的预期区间）"),
      legend(proposedMonths !== null && proposedMonths !== undefined)),
    expectedBlock(result.expected));
}

/** What /v1/assess (and /v1/reports) take from the form: the draft, charges, proposal, case details. */
function draftBody(text, picker) {
  const charges = picker.values();
  const proposed = proposal();
  return { text, charges: charges.length ? charges : undefined, proposed: proposed || undefined,
    court: optional("judge-court"), case_ref: optional("judge-case-ref"), judge_id: optional("judge-id") };
}

/** The 类案检索报告 of the draft as it stands in the form, downloaded as .docx. */
async function downloadReport(picker) {
  const status = document.getElementById("judge-report-status");
  const text = requiredText("judge-text", status, "请先粘贴判决书草稿或案件事实，或上传 .txt 文件");
  if (text === null) return;
  const question = requiredText("judge-question", status, "请填写本次检索要解决的法律问题");
  if (question === null) return;
  const body = { ...draftBody(text, picker), question };
  const file = await withProgress(status, "正在检索类案并生成报告…", document.getElementById("judge-report"),
    () => apiFile("/v1/reports", { method: "POST", body, accept: DOCX }));
  if (!file) return;
  const name = file.filename || "类案检索报告.docx";
  const url = URL.createObjectURL(file.blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  showInfo(status, `已生成并下载：${name}`);
}

async function analyse(picker) {
  const status = document.getElementById("judge-status");
  const out = document.getElementById("judge-results");
  const text = requiredText("judge-text", status, "请先粘贴判决书草稿或案件事实，或上传 .txt 文件");
  if (text === null) return;
  const assessBody = draftBody(text, picker);
  const searchBody = { text, k: 10, charges: assessBody.charges };
  const button = document.getElementById("judge-submit");
  const settled = await withProgress(status, "正在检索类似案例并测算量刑范围…", button, async () => {
    const [search, assess] = await Promise.allSettled([
      api("/v1/search", { method: "POST", body: searchBody }),
      api("/v1/assess", { method: "POST", body: assessBody }),
    ]);
    if (search.status === "rejected" && assess.status === "rejected") throw assess.reason;
    return { search, assess };
  });
  if (!settled) {
    out.hidden = true; // results of an earlier draft would read as this one's
    return;
  }
  const { search, assess } = settled;
  const blocks = [];
  if (assess.status === "fulfilled") {
    const a = assess.value;
    const m = a.deviation && a.deviation.proposed ? a.deviation.proposed.months : null;
    blocks.push(el("section", { class: "card", "aria-labelledby": "judge-sentencing-h" },
      el("h3", { id: "judge-sentencing-h" }, "量刑评估"),
      el("p", { class: "muted", "data-testid": "draft-charges" }, `识别到的罪名：${chargesLine(a.draft)}；量刑情节：${a.draft.circumstances.join("、") || "未识别到"}`),
      formerNames(a.draft),
      statutoryBlock(a.deviation),
      deviationBlock(a.deviation, a.alert_id),
      stepsBlock(a.steps, a.deviation ? a.deviation.departs_at : null),
      sentencingBlock(a, m)));
  } else {
    blocks.push(el("p", { class: "status error", role: "alert" }, `量刑评估未完成：${assess.reason.message}`));
  }
  if (search.status === "fulfilled") {
    const s = search.value;
    blocks.push(el("section", { class: "card", "aria-labelledby": "judge-similar-h" },
      el("h3", { id: "judge-similar-h" }, `相似案例（${s.count} 件，按相似度排序）`),
      s.count ? el("ol", { class: "case-list" }, ...s.results.map((h, i) => caseCard(h, i + 1)))
        : el("p", {}, "没有找到相似案例。")));
  } else {
    blocks.push(el("p", { class: "status error", role: "alert" }, `类案检索未完成：${search.reason.message}`));
  }
  out.replaceChildren(...blocks);
  out.hidden = false;
  const failed = [assess, search].find((r) => r.status === "rejected");
  if (failed) showError(status, failed.reason);
}

let submittedCount = 0;

function addSubmitted(listNode, value = "") {
  submittedCount += 1;
  const n = submittedCount;
  const item = el("li", { class: "submitted" },
    el("label", { for: `submitted-name-${n}` }, "案例名称或案号"),
    el("input", { id: `submitted-name-${n}`, class: "submitted-name", type: "text", value: `当事人提交案例 ${n}` }),
    el("label", { for: `submitted-text-${n}` }, "案例全文或事实"),
    el("textarea", { id: `submitted-text-${n}`, class: "submitted-text", rows: "5" }));
  item.querySelector("textarea").value = value;
  item.append(el("button", { type: "button", class: "secondary", onclick: () => { item.remove(); document.getElementById("compare-add").focus(); } }, "移除此案例"));
  listNode.append(item);
  return item;
}

async function compare() {
  const status = document.getElementById("compare-status");
  const out = document.getElementById("compare-results");
  const draft = document.getElementById("judge-text").value.trim();
  const items = [...document.querySelectorAll("#compare-list .submitted")]
    .map((li) => ({ id: li.querySelector(".submitted-name").value.trim(), text: li.querySelector(".submitted-text").value.trim() }))
    .filter((c) => c.text);
  if (!draft) {
    showError(status, new Error("请先在上方填写本案判决书草稿或事实"));
    return;
  }
  if (!items.length) {
    showError(status, new Error("请至少粘贴一份当事人提交的案例"));
    return;
  }
  items.forEach((c, i) => { if (!c.id) c.id = `当事人提交案例 ${i + 1}`; });
  const data = await withProgress(status, `正在比对 ${items.length} 份案例…`, document.getElementById("compare-submit"),
    () => api("/v1/compare", { method: "POST", body: { draft, cases: items } }));
  if (!data) return;
  const textOf = Object.fromEntries(items.map((c) => [c.id, c.text]));
  out.replaceChildren(el("ol", { class: "case-list" }, ...data.results.map((r) => {
    const excerpt = (textOf[r.id] || "").slice(0, 300);
    return el("li", { class: "case-card", "data-testid": "compared-case" },
      el("div", { class: "case-head" },
        el("h4", {}, r.id),
        el("span", { class: "score", title: "相似度：0 到 1，越大越相似" }, `相似度 ${Number(r.score).toFixed(2)}（0–1）`)),
      whyBlock(r.why),
      el("details", { class: "facts" }, el("summary", {}, "展开案例开头"), el("p", {}, highlighted(excerpt, spansOf(excerpt, r.why.key_terms)))));
  })));
}

export function initJudge() {
  const picker = chargePicker(document.getElementById("judge-charges"));
  bindTextFile(document.getElementById("judge-file"), document.getElementById("judge-text"), document.getElementById("judge-status"));
  document.getElementById("judge-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    analyse(picker);
  });
  document.getElementById("judge-report").addEventListener("click", () => downloadReport(picker));
  const type = document.getElementById("judge-type");
  const syncTerm = () => {
    const term = TERM_TYPES.includes(type.value);
    for (const id of ["judge-years", "judge-months"]) document.getElementById(id).disabled = !term;
    document.getElementById("judge-probation").disabled = !["fixed_term", "detention"].includes(type.value);
  };
  type.addEventListener("change", syncTerm);
  syncTerm();
  const list = document.getElementById("compare-list");
  addSubmitted(list);
  document.getElementById("compare-add").addEventListener("click", () => addSubmitted(list).querySelector("textarea").focus());
  document.getElementById("compare-submit").addEventListener("click", compare);
}
