// The admin API as the console calls it: the operator's token kept in sessionStorage (never in a URL), sent as
// `Authorization: Bearer`, JSON in and out, errors thrown with the API's own message.

const TOKEN = 'nano-admin-token';

export class ApiError extends Error {
  constructor(status, msg) {
    super(msg);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN) ?? '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN, value);
  else sessionStorage.removeItem(TOKEN);
}

/** Headers of every admin request. */
export function headers(extra = {}) {
  const h = { ...extra };
  if (token()) h.authorization = `Bearer ${token()}`;
  return h;
}

/** The node that answered the last request (`X-Nano-Node`). */
export let lastNode = '';

/** A raw admin request: the fetch Response, thrown as ApiError when not 2xx. */
export async function raw(method, path, body, init = {}) {
  const opts = { method, headers: headers(), ...init };
  if (body !== undefined) {
    opts.body = typeof body === 'string' ? body : JSON.stringify(body);
    opts.headers['content-type'] = 'application/json';
  }
  const res = await fetch(`/admin${path}`, opts);
  lastNode = res.headers.get('x-nano-node') ?? lastNode;
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j && j.msg) msg = j.msg;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, msg);
  }
  return res;
}

/** An admin request answering JSON. */
export async function api(method, path, body) {
  const res = await raw(method, path, body);
  return res.json();
}

/** `encodeURIComponent` for one path segment. */
export const seg = (s) => encodeURIComponent(s);
