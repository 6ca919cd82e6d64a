// Calls to the LeiAn /v1 API. The access key (访问密钥) lives in sessionStorage and is sent as a
// bearer token; problem-details errors (RFC 9457) become Error objects with a readable Chinese message.

const KEY_STORAGE = "leian.apiKey";

export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setKey(value) {
  if (value) sessionStorage.setItem(KEY_STORAGE, value);
  else sessionStorage.removeItem(KEY_STORAGE);
}

const STATUS_WORDS = {
  400: "请求有误",
  401: "需要访问密钥，或访问密钥无效，请在页面右上角填写",
  403: "当前访问密钥没有使用这项功能的权限",
  404: "没有找到要查看的内容",
  413: "提交的内容过长",
  422: "填写的内容有误",
  429: "请求过于频繁，请稍后再试",
  500: "服务内部出错，请稍后再试或联系管理员",
  503: "服务暂不可用（案例索引尚未建立或正在更新）",
};

/** An API failure the page can show as it is: message is Chinese, detail and field come from the server. */
export class ApiError extends Error {
  constructor(status, detail, field) {
    const words = STATUS_WORDS[status] || (status >= 500 ? STATUS_WORDS[500] : "请求未成功");
    // for 401/403/429 the field is the Authorization header: the words already say so
    const where = field && ![401, 403, 429].includes(status) ? `（字段：${field}）` : "";
    super(detail ? `${words}${where}：${detail}` : `${words}${where}`);
    this.status = status;
    this.detail = detail;
    this.field = field;
  }
}

async function send(path, { method = "GET", body, params, accept }) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: accept };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    return await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "无法连接到服务，请确认 leian serve 正在运行");
  }
}

function parsed(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

// a problem-details body names the cause; anything else (a proxy's HTML page) is not shown raw
function failure(status, data) {
  const detail = data && typeof data.detail === "string" ? data.detail : "";
  return new ApiError(status, detail, data && data.field);
}

export async function api(path, { method = "GET", body, params } = {}) {
  const resp = await send(path, { method, body, params, accept: "application/json, application/problem+json" });
  const data = parsed(await resp.text());
  if (!resp.ok) throw failure(resp.status, data);
  return data;
}

/** The file name a Content-Disposition header gives (RFC 6266: filename* in UTF-8 first), or "". */
function filenameOf(disposition) {
  if (!disposition) return "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1].trim() : "";
}

/** A file the API answers with (a .docx report): its bytes and the name the server gave it. */
export async function apiFile(path, { method = "POST", body, accept }) {
  const resp = await send(path, { method, body, accept: `${accept}, application/problem+json;q=0.9` });
  if (!resp.ok) throw failure(resp.status, parsed(await resp.text()));
  return { blob: await resp.blob(), filename: filenameOf(resp.headers.get("Content-Disposition")) };
}
