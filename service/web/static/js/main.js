// Page start-up: the 法官 / 当事人 / 审判管理 tabs (ARIA tabs with arrow keys, #hash remembers the tab),
// the access-key field, and each view's set-up.

import { getKey, setKey } from "./api.js";
import { initJudge } from "./judge.js";
import { initLitigant } from "./litigant.js";
import { initManager, loadAlerts, loadStats } from "./manager.js";
import { loadCharges } from "./ui.js";

const TABS = ["judge", "litigant", "manager"];
const loaded = new Set();

function select(name, { focus = false } = {}) {
  for (const t of TABS) {
    const tab = document.getElementById(`tab-${t}`);
    const on = t === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    document.getElementById(`panel-${t}`).hidden = !on;
    if (on && focus) tab.focus();
  }
  if (window.location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  if (name === "manager" && !loaded.has(name)) {
    loaded.add(name);
    loadAlerts();
    loadStats();
  }
}

function initTabs() {
  for (const t of TABS) {
    const tab = document.getElementById(`tab-${t}`);
    tab.addEventListener("click", () => select(t));
    tab.addEventListener("keydown", (ev) => {
      const i = TABS.indexOf(t);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[ev.key];
      if (next === undefined) return;
      ev.preventDefault();
      select(TABS[(next + TABS.length) % TABS.length], { focus: true });
    });
  }
  const fromHash = window.location.hash.slice(1);
  select(TABS.includes(fromHash) ? fromHash : "judge");
}

function initKey() {
  const input = document.getElementById("api-key");
  const status = document.getElementById("key-status");
  input.value = getKey();
  status.textContent = getKey() ? "已使用访问密钥" : "未填写（本机单用户模式无需密钥）";
  document.getElementById("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    setKey(input.value.trim());
    status.textContent = input.value.trim() ? "已保存，仅在本标签页内有效" : "已清除访问密钥";
    loadCharges({ force: true });
  });
}

initKey();
initJudge();
initLitigant();
initManager();
initTabs();
loadCharges();
document.body.dataset.ready = "true";
