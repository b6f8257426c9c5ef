// The service's HTTP API as the pages use it. Errors come back as ApiError with the
// problem's stable code (problem+json "code"), its HTTP status and the server's message;
// a network failure is code "server_unreachable" so a page can offer a retry.
export class ApiError extends Error {
  constructor(code, status, message, problem = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.problem = problem;
  }
}

const KEY = "ekyc.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(token) {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

// body: a plain object (sent as JSON), FormData (multipart) or undefined.
export async function call(method, path, body, { headers = {}, raw = false, timeoutMs = 60000 } = {}) {
  const h = { Accept: "application/json, application/problem+json", ...headers };
  const key = apiKey();
  if (key) h.Authorization = `Bearer ${key}`;
  let payload;
  if (body instanceof FormData || body instanceof Blob) payload = body;
  else if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  let r;
  try {
    r = await fetch(path, { method, headers: h, body: payload, signal: ctl.signal });
  } catch (e) {
    throw new ApiError("server_unreachable", 0, String(e && e.message ? e.message : e));
  } finally {
    clearTimeout(timer);
  }
  if (!r.ok) {
    let problem = {};
    try {
      problem = await r.json();
    } catch (_) {
      /* not JSON: keep the status */
    }
    throw new ApiError(problem.code || `http_${r.status}`, r.status, problem.detail || problem.title || r.statusText, problem);
  }
  if (raw) return r;
  const type = r.headers.get("content-type") || "";
  return type.includes("json") ? r.json() : r.text();
}
