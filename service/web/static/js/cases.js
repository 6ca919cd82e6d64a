// Cards for similar cases: outcome, court, date, why similar (shared elements and highlighted
// shared terms) and the anonymized facts behind a disclosure.

import { api } from "./api.js";
import { chips, date, el, elementTable, highlighted, outcome, quantityTable, spansOf } from "./format.js";

const FLAG_WORDS = {
  overturned: "该判决已被二审改判或撤销",
  superseded: "依据的法律条文已修改",
  near_duplicate_of: "与另一案例近似重复",
  duplicate_of: "与另一案例重复",
};

function flagNotes(flags) {
  return Object.entries(flags || {})
    .filter(([, v]) => v)
    .map(([k]) => el("p", { class: "flag" }, `注意：${FLAG_WORDS[k] || k}`));
}

/** Why one case is similar (the API's `why`), as labelled chips and a quantity table. */
export function whyBlock(why) {
  if (!why) return null;
  return el("div", { class: "why" },
    el("h4", {}, "相似之处"),
    chips("共同罪名", why.shared_charges, "shared"),
    chips("共同法条", (why.shared_articles || []).map((a) => `刑法第${a}条`), "shared"),
    chips("共同量刑情节", why.shared_circumstances, "shared"),
    chips("仅本案有的情节", why.circumstances_only_in_draft, "only-draft"),
    chips("仅类案有的情节", why.circumstances_only_in_case, "only-case"),
    quantityTable(why.quantities),
    elementTable(why.elements),
    chips("共同关键词", why.key_terms, "term"));
}

/**
 * One search hit as a card.
 * @param {object} hit  a /v1/search result (or a litigant's similar case: no court, no why)
 * @param {number} rank  1-based
 * @param {{court?: boolean}} opts  court=false leaves the court out (litigant view)
 */
export function caseCard(hit, rank, { court = true } = {}) {
  const meta = [
    court && hit.court ? hit.court : null,
    date(hit.date),
    court && hit.case_number ? hit.case_number : null,
  ].filter(Boolean).join(" · ");
  const spans = hit.highlights || spansOf(hit.facts_excerpt || "", hit.why ? hit.why.key_terms : []);
  const facts = hit.facts_excerpt || "";
  return el("li", { class: "case-card", "data-testid": "similar-case" },
    el("div", { class: "case-head" },
      el("span", { class: "rank", "aria-hidden": "true" }, String(rank)),
      el("h4", { class: "case-outcome" }, `判决结果：${outcome(hit.outcome)}`),
      hit.score !== undefined ? el("span", { class: "score", title: "检索排序得分：语义、关键词与罪名一致程度的综合，越大越相似" }, `匹配得分 ${Number(hit.score).toFixed(2)}`) : null),
    el("p", { class: "case-meta" }, `${(hit.charges || []).join("、") || "罪名不详"} · ${meta}`),
    chips("量刑情节", hit.circumstances),
    ...flagNotes(hit.flags),
    whyBlock(hit.why),
    facts ? el("details", { class: "facts", ontoggle: hit.case_id ? (e) => loadFullFacts(e.currentTarget, hit) : undefined },
      el("summary", {}, "展开案情（已匿名化）"),
      el("p", { class: "facts-text" }, highlighted(facts, spans))) : null);
}

/** On first opening, replace the excerpt with the case's whole anonymized facts (GET /v1/cases/{id}). */
async function loadFullFacts(details, hit) {
  if (!details.open || details.dataset.full) return;
  details.dataset.full = "loading";
  const p = details.querySelector(".facts-text");
  try {
    const full = await api(`/v1/cases/${encodeURIComponent(hit.case_id)}`);
    p.replaceChildren(highlighted(full.facts, spansOf(full.facts, hit.why ? hit.why.key_terms : [])));
    details.dataset.full = "yes";
  } catch (err) {
    p.append(el("span", { class: "error" }, ` （全文未能载入：${err.message}）`));
    details.dataset.full = "failed";
  }
}
