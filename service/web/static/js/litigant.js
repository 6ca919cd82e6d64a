// Litigant view: what similar decided cases suggest, in plain words, from /v1/expectations (anonymized;
// no courts, no judges, no alerts), with the same distribution chart.

import { api } from "./api.js";
import { caseCard } from "./cases.js";
import { el } from "./format.js";
import { sentencingBlock } from "./judge.js";
import { bindTextFile, chargePicker, requiredText, withProgress } from "./ui.js";

async function expect(picker) {
  const status = document.getElementById("litigant-status");
  const out = document.getElementById("litigant-results");
  const text = requiredText("litigant-text", status, "请先描述案件经过，或上传 .txt 文件");
  if (text === null) return;
  const charges = picker.values();
  const data = await withProgress(status, "正在查找类似案件并估计可能的结果…", document.getElementById("litigant-submit"),
    () => api("/v1/expectations", { method: "POST", body: { text, charges: charges.length ? charges : undefined } }));
  if (!data) return;
  out.replaceChildren(
    el("section", { class: "card", "aria-labelledby": "litigant-summary-h" },
      el("h3", { id: "litigant-summary-h" }, "可能的结果"),
      el("ul", { class: "plain", "data-testid": "summary" }, ...data.summary.map((s) => el("li", {}, s))),
      sentencingBlock(data, null)),
    el("section", { class: "card", "aria-labelledby": "litigant-cases-h" },
      el("h3", { id: "litigant-cases-h" }, `类似的已决案件（${data.similar_cases.length} 件，已隐去个人信息）`),
      el("ol", { class: "case-list" }, ...data.similar_cases.map((c, i) => caseCard(c, i + 1, { court: false })))));
  out.hidden = false;
}

export function initLitigant() {
  const picker = chargePicker(document.getElementById("litigant-charges"));
  bindTextFile(document.getElementById("litigant-file"), document.getElementById("litigant-text"), document.getElementById("litigant-status"));
  document.getElementById("litigant-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    expect(picker);
  });
}
