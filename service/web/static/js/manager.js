// Trial-manager view: the alerts table with filters and paging, acknowledging an alert with a reason,
// and statistics charts (deviation rate and sentences per charge, court or month).

import { api } from "./api.js";
import { barChart, intervalChart } from "./chart.js";
import { LEVEL_WORDS, RESOLUTION_WORDS, STATUS_WORDS, TYPE_WORDS, dateTime, el, months, outcome, percent, range } from "./format.js";
import { showError, showInfo, withProgress } from "./ui.js";

const PAGE = 20;
let offset = 0;
let acknowledging = null;

function filters() {
  const v = (id) => document.getElementById(id).value.trim();
  return { court: v("f-court"), charge: v("f-charge"), level: v("f-level"), status: v("f-status"), date_from: v("f-from"), date_to: v("f-to") };
}

const groupName = (g) => (g === "(unknown)" ? "未识别" : g);

function expectedWords(exp) {
  if (!exp) return "—";
  const kind = TYPE_WORDS[exp.outcome_type] || exp.outcome_type;
  const median = exp.median_months ? `，中位数 ${months(exp.median_months)}` : "";
  return `${kind}${median}；80% 区间 ${range(exp.range_80)}`;
}

function alertRow(a) {
  const acked = a.status === "acknowledged";
  const cell = acked
    ? el("td", {}, el("span", { class: "status-ack" }, STATUS_WORDS.acknowledged),
      el("div", { class: "muted" }, `${RESOLUTION_WORDS[a.resolution] || a.resolution || ""}${a.resolution_note ? `：${a.resolution_note}` : ""}`))
    : el("td", {}, el("span", { class: "status-open" }, STATUS_WORDS.open));
  return el("tr", { "data-alert-id": a.id, "data-status": a.status || "open" },
    el("td", {}, dateTime(a.created_at)),
    el("td", {}, a.court || "—", a.case_ref ? el("div", { class: "muted" }, a.case_ref) : null),
    el("td", {}, (a.charges || []).join("、") || "—"),
    el("td", {}, outcome(a.proposed)),
    el("td", {}, expectedWords(a.expected)),
    el("td", {}, el("span", { class: `level-badge level-${a.level}` }, LEVEL_WORDS[a.level] || a.level)),
    el("td", { class: "reasons-cell" }, el("details", {}, el("summary", {}, `${(a.reasons || []).length} 条说明`),
      el("ul", {}, ...(a.reasons || []).map((r) => el("li", {}, r))))),
    cell,
    el("td", {}, acked ? null : el("button", { type: "button", class: "ack", "aria-label": `确认预警 ${a.case_ref || a.id}`,
      onclick: (ev) => openAck(a, ev.currentTarget) }, "确认")));
}

export async function loadAlerts() {
  const status = document.getElementById("alerts-status");
  const data = await withProgress(status, "正在读取预警…", document.getElementById("alerts-submit"),
    () => api("/v1/alerts", { params: { ...filters(), limit: PAGE, offset } }));
  if (!data) return;
  if (!data.data.length && offset > 0) {
    offset = Math.max(0, offset - PAGE); // the last page emptied (acknowledged under the 待处理 filter)
    await loadAlerts();
    return;
  }
  const body = document.getElementById("alerts-body");
  body.replaceChildren(...(data.data.length ? data.data.map(alertRow)
    : [el("tr", {}, el("td", { colspan: "9", class: "muted" }, "没有符合条件的预警。"))]));
  const pages = Math.max(1, Math.ceil(data.count / PAGE));
  const page = Math.floor(offset / PAGE) + 1;
  document.getElementById("alerts-page").textContent = `第 ${page} / ${pages} 页，共 ${data.count} 条`;
  document.getElementById("alerts-prev").disabled = offset === 0;
  document.getElementById("alerts-next").disabled = offset + PAGE >= data.count;
  showInfo(status, `共 ${data.count} 条预警`);
}

function openAck(alert, opener) {
  acknowledging = { alert, opener };
  const dialog = document.getElementById("ack-dialog");
  document.getElementById("ack-what").textContent =
    `${alert.court || "法院不详"} ${alert.case_ref || ""}：拟判 ${outcome(alert.proposed)}（${LEVEL_WORDS[alert.level] || alert.level}）`;
  document.getElementById("ack-form").reset();
  document.getElementById("ack-status").textContent = "";
  dialog.showModal();
  document.getElementById("ack-justified").focus();
}

async function submitAck(ev) {
  ev.preventDefault();
  const status = document.getElementById("ack-status");
  const form = document.getElementById("ack-form");
  const resolution = form.elements.resolution.value;
  const note = document.getElementById("ack-note").value.trim();
  if (!resolution) {
    showError(status, new Error("请选择处理结果"));
    return;
  }
  if (!note) {
    showError(status, new Error("请填写确认理由"));
    document.getElementById("ack-note").focus();
    return;
  }
  const by = document.getElementById("ack-by").value.trim() || undefined;
  const { alert } = acknowledging;
  const done = await withProgress(status, "正在保存…", document.getElementById("ack-submit"),
    () => api(`/v1/alerts/${encodeURIComponent(alert.id)}`, { method: "PATCH", body: { resolution, note, by } }));
  if (!done) return;
  const reload = loadAlerts(); // marks the table's status busy before the dialog goes away
  document.getElementById("ack-dialog").close();
  await reload;
  showInfo(document.getElementById("alerts-status"), `已确认预警（${RESOLUTION_WORDS[done.resolution]}）`);
  document.getElementById("alerts-submit").focus();
}

export async function loadStats() {
  const status = document.getElementById("stats-status");
  const groupBy = document.getElementById("stats-group").value;
  const data = await withProgress(status, "正在统计…", document.getElementById("stats-submit"),
    () => api("/v1/stats", { params: { group_by: groupBy } }));
  if (!data) return;
  const groupWord = { charge: "罪名", court: "法院", month: "月份" }[groupBy];
  const dev = data.deviation;
  const devBox = document.getElementById("stats-deviation");
  devBox.replaceChildren(dev.length
    ? barChart(dev.map((r) => ({ label: groupName(r.group), value: r.deviation_rate, note: `${r.alerts}/${r.assessments}` })),
      { max: 1, format: (v) => percent(v), label: `按${groupWord}的偏离预警率`, testid: "deviation-chart" })
    : el("p", { class: "muted" }, "还没有评估记录：法官提交拟判刑罚后这里会显示偏离预警率。"));
  // the corpus has judgment years, not months: the API says how its sentences are grouped
  const sent = data.sentencing.filter((r) => r.median_months !== null).slice(0, 15);
  const sentBox = document.getElementById("stats-sentencing");
  document.getElementById("stats-sentencing-h").textContent =
    data.sentencing_group_by === "year" ? "案例库中的刑期分布（按裁判年份）" : `案例库中的刑期分布（按${groupWord}，案件最多的 15 组）`;
  sentBox.replaceChildren(sent.length
    ? intervalChart(sent.map((r) => ({ label: groupName(r.group), p25: r.p25_months, median: r.median_months, p75: r.p75_months, cases: r.cases })),
      `按${groupWord}的刑期分布：条为中间一半案件，竖线为中位数`)
    : el("p", { class: "muted" }, "案例库中没有足够的有期徒刑、拘役或管制案件。"));
}

export function initManager() {
  document.getElementById("alerts-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    offset = 0;
    loadAlerts();
  });
  document.getElementById("alerts-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); loadAlerts(); });
  document.getElementById("alerts-next").addEventListener("click", () => { offset += PAGE; loadAlerts(); });
  document.getElementById("ack-form").addEventListener("submit", submitAck);
  document.getElementById("ack-cancel").addEventListener("click", () => document.getElementById("ack-dialog").close());
  document.getElementById("ack-dialog").addEventListener("close", () => {
    if (acknowledging && acknowledging.opener && acknowledging.opener.isConnected) acknowledging.opener.focus();
  });
  document.getElementById("stats-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    loadStats();
  });
}
