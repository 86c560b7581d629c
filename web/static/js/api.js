// REST calls to /api/v1 with the bearer token kept in localStorage.
// Every failure becomes an ApiError carrying the API's own {code, message}.

const SESSION_KEY = "exchange.session";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

export function saveSession(username, token) {
  localStorage.setItem(SESSION_KEY, JSON.stringify({ username, token }));
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

// JSON typed by a person, sent as written: JSON.parse would turn 20.55 into a
// float and back, and the API reads a price's digits as they were typed.
export class JsonText {
  constructor(text) {
    this.text = text;
  }
}

// body: a value to send as JSON, or a JsonText whose text is sent as written.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = session()?.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : body instanceof JsonText ? body.text : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, "network_error", `cannot reach the exchange (${err.message})`);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    // A proxy error page, not JSON: reported below by its status.
  }
  if (!response.ok) {
    const error = data?.error;
    throw new ApiError(response.status, error?.code ?? `http_${response.status}`,
                       error?.message ?? `${response.status} ${response.statusText}`);
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body ?? {});
export const del = (path) => api("DELETE", path);
export const patch = (path, body) => api("PATCH", path, body);

// "insufficient_funds: not enough USD available" style text for a message line.
export function describe(err) {
  return err instanceof ApiError ? `${err.message} (${err.code})` : String(err?.message ?? err);
}
