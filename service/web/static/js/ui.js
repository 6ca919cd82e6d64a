// Page-level helpers: the progress/error line of each view (an aria-live region), the charge picker,
// and reading a .txt file into a text area.

import { api } from "./api.js";
import { el } from "./format.js";

/** Run a long request with a spinner and words in the view's status line; errors are shown, not thrown. */
export async function withProgress(statusNode, words, button, work) {
  statusNode.className = "status busy";
  statusNode.replaceChildren(el("span", { class: "spinner", "aria-hidden": "true" }), words);
  if (button) button.disabled = true;
  const started = performance.now();
  try {
    const out = await work();
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    statusNode.className = "status done";
    statusNode.textContent = `完成（用时 ${secs} 秒）`;
    return out;
  } catch (err) {
    showError(statusNode, err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function showError(statusNode, err) {
  statusNode.className = "status error";
  statusNode.setAttribute("role", "alert");
  statusNode.textContent = err && err.message ? err.message : "出现未知错误";
}

// The trimmed text of a required textarea; when it is empty, says so in the status line, puts the
// focus back on it and gives null.
export function requiredText(textareaId, statusNode, message) {
  const area = document.getElementById(textareaId);
  const text = area.value.trim();
  if (!text) {
    showError(statusNode, new Error(message));
    area.focus();
    return null;
  }
  return text;
}

export function showInfo(statusNode, words) {
  statusNode.className = "status done";
  statusNode.removeAttribute("role");
  statusNode.textContent = words;
}

let chargeList = null;

/** The served index's charges (once per page), as <option>s of the shared datalist. */
export async function loadCharges({ force = false } = {}) {
  if (chargeList && !force) return chargeList;
  const list = document.getElementById("charge-options");
  try {
    const data = await api("/v1/charges");
    chargeList = data.data;
    list.replaceChildren(...chargeList.map((c) => el("option", { value: c.charge }, `${c.count} 件`)));
  } catch {
    return []; // the picker still takes typed names; the server normalizes and checks them
  }
  return chargeList;
}

/**
 * A charge picker: a text input with suggestions and an 添加 button; picked charges are removable chips.
 * @param {HTMLElement} root  element holding input.charge-input, button.charge-add and ul.charge-chips
 * @returns {{values: () => string[], clear: () => void}}
 */
export function chargePicker(root) {
  const input = root.querySelector(".charge-input");
  const add = root.querySelector(".charge-add");
  const chipsNode = root.querySelector(".charge-chips");
  const picked = [];
  const render = () => {
    chipsNode.replaceChildren(...picked.map((c, i) => el("li", { class: "chip removable" }, c,
      el("button", { type: "button", class: "chip-remove", "aria-label": `移除罪名 ${c}`, onclick: () => { picked.splice(i, 1); render(); input.focus(); } }, "×"))));
  };
  const addCurrent = () => {
    for (const part of input.value.split(/[，,、\s]+/)) {
      const name = part.trim();
      if (name && !picked.includes(name)) picked.push(name);
    }
    input.value = "";
    render();
  };
  add.addEventListener("click", addCurrent);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      addCurrent();
    }
  });
  return {
    values: () => {
      if (input.value.trim()) addCurrent();
      return [...picked];
    },
    clear: () => { picked.length = 0; render(); },
  };
}

/** Fill a text area from a chosen .txt file (UTF-8; GB18030 tried when UTF-8 fails). */
export function bindTextFile(fileInput, textarea, statusNode) {
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    const bytes = await file.arrayBuffer();
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      try {
        text = new TextDecoder("gb18030").decode(bytes);
      } catch {
        showError(statusNode, new Error(`无法读取文件 ${file.name}：请使用 UTF-8 编码的 .txt 文本`));
        return;
      }
    }
    textarea.value = text;
    const nameNode = fileInput.parentElement.querySelector(".file-name");
    if (nameNode) nameNode.textContent = file.name;
    showInfo(statusNode, `已读入文件 ${file.name}（${text.length} 字）`);
  });
}
