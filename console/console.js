// The console's shell: log in (or not, when the admin API is open), the page router on the URL's hash, and the
// header. Pages live in pages.js.

import { api, ApiError, lastNode, setToken, token } from './api.js';
import { h, pages, stopTimers, toast } from './pages.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const logout = document.getElementById('logout');

/** Whether the stored token (or none) opens the admin API: true, false (refused), or a message (disabled). */
async function admitted() {
  try {
    await api('GET', '/tenants');
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    if (e instanceof ApiError && e.status === 403) return e.message;
    throw e;
  }
}

function loginForm(message) {
  nav.hidden = true;
  logout.hidden = true;
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Log in'),
    h('p', {}, 'Enter the admin token of this nano (its admin_token setting). It is kept in this tab only.'),
    h('label', { for: 'token' }, 'Admin token'),
    input,
    error,
    h('button', { type: 'submit' }, 'Log in'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setToken(input.value.trim());
    const ok = await admitted().catch((e) => e.message);
    if (ok === true) {
      start();
    } else {
      setToken('');
      error.textContent = ok === false ? 'The token was refused.' : ok;
      input.focus();
    }
  });
  main.replaceChildren(form);
  input.focus();
}

async function route() {
  stopTimers();
  const [name, ...args] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = pages[name] ?? pages.overview;
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === `#/${name || 'overview'}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = h('div', { class: 'page' });
  main.replaceChildren(view);
  try {
    await page(view, ...args);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return loginForm('The session ended: log in again.');
    view.append(h('p', { class: 'error', role: 'alert' }, e.message));
  }
  document.getElementById('node').textContent = lastNode ? `node ${lastNode}` : '';
  const heading = main.querySelector('h1');
  if (heading) document.title = `${heading.textContent} · nano console`;
}

async function start() {
  const ok = await admitted().catch((e) => e.message);
  if (ok !== true) return loginForm(ok === false ? (token() ? 'The token was refused.' : '') : ok);
  nav.hidden = false;
  logout.hidden = !token();
  window.onhashchange = route;
  await route();
}

logout.addEventListener('click', () => {
  setToken('');
  stopTimers();
  window.onhashchange = null;
  loginForm('Logged out.');
});

window.addEventListener('unhandledrejection', (ev) => toast(ev.reason?.message ?? String(ev.reason), true));
start();
