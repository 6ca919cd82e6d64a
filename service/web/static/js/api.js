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

export async function api(path, { method = "GET", body, params } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
  }
  const headers = { Accept: "application/json, application/problem+json" };
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "无法连接到服务，请确认 leian serve 正在运行");
  }
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    // a problem-details body names the cause; anything else (a proxy's HTML page) is not shown raw
    const detail = data && typeof data.detail === "string" ? data.detail : "";
    throw new ApiError(resp.status, detail, data && data.field);
  }
  return data;
}
