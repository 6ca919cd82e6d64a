// Page start-up: the caller's role (GET /v1/me) decides which of the 法官 / 当事人 / 审判管理 tabs show;
// ARIA tabs with arrow keys, #hash remembers the tab; the access-key field; each view's set-up.

import { api, getKey, setKey } from "./api.js";
import { initJudge } from "./judge.js";
import { initLitigant } from "./litigant.js";
import { initManager, loadAlerts, loadStats } from "./manager.js";
import { loadCharges } from "./ui.js";

const TABS = ["judge", "litigant", "manager"];
// what each role may use (the API enforces it; the page only leaves out what would be refused)
// a clerk's key only uploads cases (POST /v1/cases): no view of the page is for it
const VIEWS_OF = { admin: TABS, judge: ["judge", "litigant"], manager: ["manager", "litigant"], litigant: ["litigant"], clerk: [] };
const ROLE_WORDS = { admin: "管理员", judge: "法官", manager: "审判管理", litigant: "当事人", clerk: "书记员（仅上传案例）" };
const loaded = new Set();
let current = null;

const visible = () => TABS.filter((t) => !document.getElementById(`tab-${t}`).hidden);

function select(name, { focus = false } = {}) {
  current = name;
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
      const shown = visible();
      const i = shown.indexOf(t);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: shown.length - 1 }[ev.key];
      if (next === undefined) return;
      ev.preventDefault();
      select(shown[(next + shown.length) % shown.length], { focus: true });
    });
  }
}

/** Ask the server who we are; show the tabs that role may use and say so beside the key field. */
async function applyRole() {
  const status = document.getElementById("key-status");
  let role = null;
  try {
    const me = await api("/v1/me");
    role = me.role;
    status.className = "muted";
    status.textContent = me.local ? "本机单用户模式，无需密钥" : `已登录：${ROLE_WORDS[role] || role}`;
  } catch (err) {
    status.className = "key-error";
    status.textContent = err.status === 401 && !getKey() ? "请填写访问密钥后保存" : err.message;
  }
  const allowed = (role && VIEWS_OF[role]) || TABS;
  for (const t of TABS) document.getElementById(`tab-${t}`).hidden = !allowed.includes(t);
  document.body.dataset.role = role || "";
  if (!allowed.length) {
    for (const t of TABS) document.getElementById(`panel-${t}`).hidden = true;
    status.textContent += "：此密钥只能通过 POST /v1/cases 上传案例，本页各视图不对其开放";
    return;
  }
  const wanted = current || window.location.hash.slice(1);
  select(allowed.includes(wanted) ? wanted : allowed[0]);
}

function initKey() {
  const input = document.getElementById("api-key");
  input.value = getKey();
  document.getElementById("key-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setKey(input.value.trim());
    await applyRole();
    loadCharges({ force: true });
  });
}

async function start() {
  initKey();
  initJudge();
  initLitigant();
  initManager();
  initTabs();
  await applyRole();
  loadCharges();
  document.body.dataset.ready = "true";
}

start();
