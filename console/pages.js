// The console's pages: overview, tenants (and their keys), apps (deploy, settings, versions), live logs and a
// tenant's services. Every page builds DOM nodes (never HTML from data) and calls the admin API through api.js.

import { api, headers, raw, seg } from './api.js';
import { buckets, chart, parseProm, quantile, total } from './charts.js';

// ---------------------------------------------------------------- helpers

/** An element: `h('button', { type: 'button', onclick }, 'Save')`. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v == null) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

let timers = [];
let streams = [];

/** Runs `fn` now and every `ms` until the page changes. */
function every(ms, fn) {
  fn();
  timers.push(setInterval(fn, ms));
}

/** Stops the current page's polling and streams. */
export function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
  streams.forEach((s) => s.abort());
  streams = [];
}

let toastTimer;
/** A short message in the status region. */
export function toast(msg, error = false) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = error ? 'show error' : 'show';
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.className = ''), 5000);
}

/** Runs an action of a button, reporting its error, and disabling the button meanwhile. */
function action(fn) {
  return async (ev) => {
    ev?.preventDefault?.();
    const b = ev?.submitter ?? ev?.currentTarget;
    if (b) b.disabled = true;
    try {
      await fn(ev);
    } catch (e) {
      toast(e.message, true);
    } finally {
      if (b) b.disabled = false;
    }
  };
}

/** A table of `rows` (arrays of cells) under `cols`, scrolling sideways on narrow screens. */
function table(caption, cols, rows, empty = 'None yet.') {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  return h(
    'div',
    { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))),
    ),
  );
}

function field(id, label, input, hint) {
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', {}, hint) : null);
}

const when = (ms) => (ms ? new Date(ms).toLocaleString() : '–');
const bytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`);
const rate = (n) => `${n < 10 ? n.toFixed(2) : n.toFixed(0)}/s`;
const millis = (s) => `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms`;

async function tenantIds() {
  return (await api('GET', '/tenants')).tenants.map((t) => t.id);
}

function select(id, label, options, value) {
  const s = h('select', {}, options.map((o) => h('option', { value: o, selected: o === value }, o)));
  return [field(id, label, s), s];
}

// ---------------------------------------------------------------- overview

async function overview(view) {
  view.append(h('h1', {}, 'Overview'));
  const stats = h('dl', { class: 'stats' });
  const charts = {
    rps: chart('Requests per second', rate),
    eps: chart('Errors (5xx) per second', rate),
    p50: chart('Latency p50', millis),
    p99: chart('Latency p99', millis),
    cpu: chart('CPU (share of one core)', (v) => `${(v * 100).toFixed(1)} %`),
    mem: chart('Isolate memory', bytes),
    kills: chart('Limit terminations per second', rate),
  };
  const perApp = h('div');
  view.append(
    stats,
    h('section', { 'aria-labelledby': 'live' }, h('h2', { id: 'live' }, 'Live, this node (every 2 s)'), h('div', { class: 'charts' }, Object.values(charts))),
    h('section', { 'aria-labelledby': 'perapp' }, h('h2', { id: 'perapp' }, 'Apps on this node'), perApp),
  );
  const series = Object.fromEntries(Object.keys(charts).map((k) => [k, []]));
  let prev = null;
  const push = (k, v) => {
    series[k].push(v);
    if (series[k].length > 60) series[k].shift();
    charts[k].update(series[k]);
  };
  every(2000, async () => {
    const [text, tenants, apps] = await Promise.all([
      raw('GET', '/metrics').then((r) => r.text()),
      api('GET', '/tenants'),
      api('GET', '/apps'),
    ]).catch((e) => {
      toast(e.message, true);
      return [];
    });
    if (!text) return;
    const s = parseProm(text);
    const now = performance.now();
    const cur = {
      at: now,
      req: total(s, 'nano_app_request_duration_seconds_count'),
      err: total(s, 'nano_app_server_errors_total'),
      cpu: total(s, 'nano_app_cpu_seconds_total'),
      kills: total(s, 'nano_app_terminations_total'),
      hist: buckets(s, 'nano_app_request_duration_seconds'),
    };
    const serving = apps.apps.filter((a) => a.status === 'serving').length;
    stats.replaceChildren(
      ...[
        ['Node', document.getElementById('node').textContent.replace('node ', '') || '–'],
        ['Tenants', tenants.tenants.length],
        ['Apps', `${serving} serving, ${apps.apps.length - serving} failed`],
        ['Requests', cur.req],
        ['Limit terminations', cur.kills],
      ].map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, String(v)))),
    );
    if (prev) {
      const secs = (now - prev.at) / 1000;
      push('rps', Math.max(0, cur.req - prev.req) / secs);
      push('eps', Math.max(0, cur.err - prev.err) / secs);
      push('p50', quantile(prev.hist, cur.hist, 0.5));
      push('p99', quantile(prev.hist, cur.hist, 0.99));
      push('cpu', Math.max(0, cur.cpu - prev.cpu) / secs);
      push('mem', total(s, 'nano_app_memory_bytes'));
      push('kills', Math.max(0, cur.kills - prev.kills) / secs);
    }
    prev = cur;
    const of = (name, app) => total(s, name, (l) => l.app === app);
    perApp.replaceChildren(
      table(
        'Apps on this node',
        ['App', 'Tenant', 'Status', 'Requests', '5xx', 'Isolates', 'Memory', 'Terminations'],
        apps.apps.map((a) => [
          h('a', { href: `#/apps/${seg(a.name)}` }, a.name),
          a.tenant ?? '–',
          a.status,
          of('nano_app_request_duration_seconds_count', a.name),
          of('nano_app_server_errors_total', a.name),
          of('nano_app_isolates', a.name),
          bytes(of('nano_app_memory_bytes', a.name)),
          of('nano_app_terminations_total', a.name),
        ]),
        'No apps yet: deploy one on the Apps page.',
      ),
    );
  });
}

// ---------------------------------------------------------------- tenants

async function tenants(view, selected) {
  view.append(h('h1', {}, 'Tenants'));
  const list = h('div');
  const idInput = h('input', { required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,62}', autocomplete: 'off' });
  const create = h(
    'form',
    { class: 'inline', 'aria-label': 'Create a tenant' },
    field('new-tenant', 'New tenant id', idInput, 'lower-case letters, digits and dashes'),
    h('button', { type: 'submit' }, 'Create tenant'),
  );
  create.addEventListener(
    'submit',
    action(async () => {
      await api('POST', '/tenants', { id: idInput.value.trim() });
      toast(`Tenant ${idInput.value.trim()} created.`);
      location.hash = `#/tenants/${seg(idInput.value.trim())}`;
    }),
  );
  const detail = h('div');
  view.append(create, list, detail);
  const all = (await api('GET', '/tenants')).tenants;
  list.append(
    table(
      'Tenants',
      ['Tenant', 'Created', 'Actions'],
      all.map((t) => [
        t.id,
        when(t.created_ms),
        h(
          'div',
          { class: 'actions' },
          h('a', { class: 'button', href: `#/tenants/${seg(t.id)}`, 'aria-label': `Keys of ${t.id}` }, 'Keys'),
          h('a', { class: 'button', href: `#/services/${seg(t.id)}`, 'aria-label': `Services of ${t.id}` }, 'Services'),
          h('button', { type: 'button', 'aria-label': `Export ${t.id}`, onclick: action(() => exportTenant(t.id)) }, 'Export'),
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              'aria-label': `Delete ${t.id}`,
              onclick: action(async () => {
                if (!confirm(`Delete tenant ${t.id} with all its apps, keys and data?`)) return;
                await api('DELETE', `/tenants/${seg(t.id)}`);
                toast(`Tenant ${t.id} deleted.`);
                if (location.hash === '#/tenants') await route();
                else location.hash = '#/tenants';
              }),
            },
            'Delete',
          ),
        ),
      ]),
      'No tenants yet.',
    ),
  );
  if (selected && all.some((t) => t.id === selected)) await keys(detail, selected);
}

async function exportTenant(id) {
  const res = await raw('GET', `/tenants/${seg(id)}/export`);
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: `${id}.ndjson` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  toast(`Export of ${id} downloaded.`);
}

async function keys(detail, tenant) {
  const list = h('div');
  const shown = h('div', { 'aria-live': 'polite' });
  const domains = h('input', { placeholder: 'movies, cache1', autocomplete: 'off' });
  const readOnly = h('input', { type: 'checkbox' });
  const form = h(
    'form',
    { class: 'inline', 'aria-label': `Issue a key for ${tenant}` },
    field('key-domains', 'Domains (optional, comma-separated)', domains, 'empty: every domain'),
    h('div', { class: 'field check' }, readOnly, h('label', { for: 'key-ro' }, 'Read only')),
    h('button', { type: 'submit' }, 'Issue key'),
  );
  readOnly.id = 'key-ro';
  const refresh = async () => {
    const ks = (await api('GET', `/tenants/${seg(tenant)}/keys`)).keys;
    list.replaceChildren(
      table(
        `Keys of ${tenant}`,
        ['Key', 'Grant', 'Created', ''],
        ks.map((k) => [
          k.id,
          grantText(k.grant),
          when(k.created_ms),
          h(
            'button',
            {
              type: 'button',
              class: 'danger',
              'aria-label': `Revoke key ${k.id}`,
              onclick: action(async () => {
                if (!confirm(`Revoke key ${k.id}? Clients using it stop working.`)) return;
                await api('DELETE', `/tenants/${seg(tenant)}/keys/${seg(k.id)}`);
                await refresh();
                toast(`Key ${k.id} revoked.`);
              }),
            },
            'Revoke',
          ),
        ]),
        'No keys yet.',
      ),
    );
  };
  form.addEventListener(
    'submit',
    action(async () => {
      const grant = {};
      const d = domains.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (d.length) grant.domains = d;
      if (readOnly.checked) grant.read_only = true;
      const k = await api('POST', `/tenants/${seg(tenant)}/keys`, grant);
      shown.replaceChildren(
        h(
          'div',
          { class: 'secret', role: 'alert' },
          h('h3', {}, `Key ${k.key.id} issued`),
          h('p', {}, 'Copy these now: the secret is shown once and never again.'),
          h('dl', {}, [
            ['Secret', k.secret],
            ['Connection string', k.connection.http],
            ['Cloud connection string', k.connection.cloud],
          ].map(([n, v]) => h('div', {}, h('dt', {}, n), h('dd', {}, h('code', { class: 'copy' }, v))))),
          h('button', { type: 'button', class: 'quiet', onclick: () => shown.replaceChildren() }, 'I have copied them'),
        ),
      );
      await refresh();
    }),
  );
  detail.append(h('h2', {}, `Keys of ${tenant}`), form, shown, list, importForm(tenant));
  await refresh();
}

/** Restores an export archive into the tenant. */
function importForm(tenant) {
  const file = h('input', { type: 'file', accept: '.ndjson,application/x-ndjson', required: true });
  const out = h('p', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card inline', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, `Import into ${tenant}`),
    field('import-file', 'Export archive (.ndjson)', file, 'the tenant must not have services of the same names yet'),
    h('button', { type: 'submit' }, 'Import'),
    out,
  );
  form.addEventListener(
    'submit',
    action(async () => {
      if (!file.files.length) throw new Error('Choose an archive first.');
      const res = await raw('POST', `/tenants/${seg(tenant)}/import`, undefined, { body: file.files[0] });
      const n = (await res.json()).imported ?? {};
      out.textContent = `Imported ${n.dbs ?? 0} databases, ${n.docs ?? 0} documents, ${n.caches ?? 0} caches, ${n.buckets ?? 0} buckets, ${n.objects ?? 0} objects, ${n.indexes ?? 0} indexes, ${n.queues ?? 0} queues and ${n.jobs ?? 0} jobs.`;
      toast(`Archive imported into ${tenant}.`);
    }),
  );
  return form;
}

function grantText(g) {
  if (!g) return 'everything';
  const parts = [];
  parts.push(g.services?.length ? g.services.join(', ') : 'all services');
  parts.push(g.domains?.length ? `domains ${g.domains.join(', ')}` : 'all domains');
  if (g.read_only) parts.push('read only');
  return parts.join('; ');
}

// ---------------------------------------------------------------- apps

/** Module files of a drop or file input: `{ path: source }`, paths relative to the dropped folder. */
async function readBundle(files) {
  const out = {};
  for (const f of files) {
    const rel = (f.webkitRelativePath || f.relPath || f.name).split('/');
    if (rel.length > 1 && f.webkitRelativePath) rel.shift();
    const path = rel.join('/');
    if (/\.(m?js)$/.test(path)) out[path] = await f.text();
  }
  return out;
}

/** Files of a drop, folders walked; a single dropped folder is the app's root. */
async function droppedFiles(dt) {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dt.files];
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const f = await new Promise((ok, no) => entry.file(ok, no));
      f.relPath = prefix + f.name;
      out.push(f);
      return;
    }
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((ok, no) => reader.readEntries(ok, no));
      if (!batch.length) break;
      for (const e of batch) await walk(e, prefix === null ? '' : `${prefix}${entry.name}/`);
    }
  };
  if (entries.length === 1 && entries[0].isDirectory) await walk(entries[0], null);
  else for (const e of entries) await walk(e, '');
  return out;
}

async function apps(view, name) {
  if (name) return app(view, name);
  view.append(h('h1', {}, 'Apps'));
  const all = (await api('GET', '/apps')).apps;
  const versions = await Promise.all(
    all.map((a) => (a.origin === 'api' ? api('GET', `/apps/${seg(a.name)}/versions`).then((v) => v.versions[0].version, () => '–') : '–')),
  );
  view.append(
    table(
      'Apps',
      ['App', 'Tenant', 'Hostnames', 'Status', 'Version', 'Origin'],
      all.map((a, i) => [
        h('a', { href: `#/apps/${seg(a.name)}` }, a.name),
        a.tenant ?? '–',
        (a.hostnames ?? []).join(', '),
        h('span', { class: `badge ${a.status}`, title: a.error ?? '' }, a.error ? `${a.status} (last change failed)` : a.status),
        String(versions[i]),
        a.origin ?? '–',
      ]),
      'No apps yet.',
    ),
  );
  const report = h('p', { 'aria-live': 'polite' });
  view.append(
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          onclick: action(async () => {
            const r = (await api('POST', '/reload')).reload;
            const failed = Object.entries(r.failed ?? {});
            report.textContent = `Reloaded the config file and the apps folder: ${r.loaded.length} loaded, ${r.removed.length} removed, ${failed.length} failed${failed.length ? ` (${failed.map(([n, e]) => `${n}: ${e}`).join('; ')})` : ''}.`;
          }),
        },
        'Reload config and apps folder',
      ),
    ),
    report,
    await deployForm(),
  );
}

async function deployForm(existing) {
  const ids = await tenantIds();
  const nameIn = h('input', { required: true, autocomplete: 'off', value: existing?.name ?? '' });
  const [tenantField, tenantSel] = select('deploy-tenant', 'Tenant', ids, existing?.tenant);
  const hostsIn = h('input', { autocomplete: 'off', placeholder: 'app.example.com', value: (existing?.hostnames ?? []).join(', ') });
  const entryIn = h('input', { value: existing?.entry ?? 'index.js', autocomplete: 'off' });
  const filesIn = h('input', { type: 'file', multiple: true, accept: '.js,.mjs' });
  const folderIn = h('input', { type: 'file', webkitdirectory: true });
  const picked = h('p', { class: 'muted', 'aria-live': 'polite' }, 'No bundle chosen.');
  let bundle = {};
  const take = async (files) => {
    bundle = await readBundle(files);
    const names = Object.keys(bundle);
    picked.textContent = names.length ? `Bundle: ${names.join(', ')}` : 'No .js or .mjs file in what was chosen.';
    if (names.length && !names.includes(entryIn.value)) entryIn.value = names.find((n) => /^index\.m?js$/.test(n)) ?? names[0];
  };
  filesIn.addEventListener('change', () => take(filesIn.files));
  folderIn.addEventListener('change', () => take(folderIn.files));
  const drop = h('div', { class: 'drop', tabindex: '0', role: 'group', 'aria-label': 'Drop a bundle or an app folder here' }, 'Drop a bundle (.js files) or an app folder here');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    await take(await droppedFiles(e.dataTransfer));
  });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'deploy-title' },
    h('h2', { id: 'deploy-title' }, existing ? 'Deploy a new version' : 'Deploy an app'),
    h(
      'div',
      { class: 'grid' },
      field('deploy-name', 'App name', nameIn),
      tenantField,
      field('deploy-hosts', 'Hostnames (comma-separated)', hostsIn, 'empty: <name>.localhost'),
      field('deploy-entry', 'Entry module', entryIn),
    ),
    drop,
    h('div', { class: 'grid' }, field('deploy-files', 'Or choose files', filesIn), field('deploy-folder', 'Or choose a folder', folderIn)),
    picked,
    h('button', { type: 'submit' }, 'Deploy'),
  );
  if (existing) {
    nameIn.readOnly = true;
    tenantSel.disabled = true;
  }
  form.addEventListener(
    'submit',
    action(async () => {
      if (!Object.keys(bundle).length) throw new Error('Choose or drop the app’s files first.');
      const name = nameIn.value.trim();
      // A new version keeps the app's settings; only its code (and hostnames, entry) come from this form.
      const body = { ...(existing?.settings ?? {}), name, tenant: tenantSel.value, files: bundle, entry: entryIn.value.trim() };
      const hosts = hostsIn.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (hosts.length) body.hostnames = hosts;
      if (existing) await api('PUT', `/apps/${seg(name)}`, body);
      else await api('POST', '/apps', body);
      toast(`App ${name} deployed.`);
      if (existing) await route();
      else location.hash = `#/apps/${seg(name)}`;
    }),
  );
  return form;
}

/** Re-renders the current page. */
async function route() {
  window.onhashchange?.();
}

async function app(view, name) {
  const a = (await api('GET', `/apps/${seg(name)}`)).app;
  view.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/apps' }, 'Apps'), ' / ', name),
    h('h1', {}, `App ${name}`),
    h(
      'dl',
      { class: 'stats' },
      [
        ['Status', a.status],
        ['Tenant', a.tenant ?? '–'],
        ['Hostnames', (a.hostnames ?? []).join(', ')],
        ['Origin', a.origin ?? '–'],
        ['Engine', a.engine ?? 'default'],
      ].map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, String(v)))),
    ),
  );
  if (a.error) view.append(h('p', { class: 'error', role: 'alert' }, `Last change failed to load: ${a.error}`));
  view.append(
    h(
      'div',
      { class: 'actions' },
      h('a', { class: 'button', href: `#/logs/${seg(name)}` }, 'Live logs'),
      h('a', { class: 'button', href: `http://${(a.hostnames ?? [])[0] ?? ''}${location.port ? `:${location.port}` : ''}/`, target: '_blank', rel: 'noopener' }, 'Open app'),
    ),
  );
  if (a.status === 'failed') return;
  const api_ = a.origin === 'api';
  if (api_) view.append(settings(a), await versionsCard(name));
  view.append(scheduledCard(a));
  if (api_) {
    const settings = Object.fromEntries(['env', 'limits', 'bindings', 'triggers', 'engine', 'outbound'].filter((k) => a[k] != null).map((k) => [k, a[k]]));
    view.append(await deployForm({ name, tenant: a.tenant, hostnames: a.hostnames, entry: a.entry, settings }));
    view.append(
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Delete'),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: action(async () => {
              if (!confirm(`Delete app ${name}? It drains first.`)) return;
              await api('DELETE', `/apps/${seg(name)}`);
              toast(`App ${name} deleted.`);
              location.hash = '#/apps';
            }),
          },
          `Delete app ${name}`,
        ),
      ),
    );
  } else {
    view.append(h('p', { class: 'muted' }, `This app comes from the ${a.origin === 'config' ? 'config file' : 'apps folder'}: change it there.`));
  }
}

function settings(a) {
  const rows = h('div', { class: 'env' });
  const addRow = (k = '', v = '') => {
    const i = rows.children.length;
    const key = h('input', { id: `env-k${i}`, value: k, autocomplete: 'off', 'aria-label': `Variable ${i + 1} name` });
    const val = h('input', { id: `env-v${i}`, value: typeof v === 'string' ? v : JSON.stringify(v), autocomplete: 'off', 'aria-label': `Variable ${i + 1} value` });
    const row = h('div', { class: 'row' }, key, val, h('button', { type: 'button', class: 'quiet', 'aria-label': `Remove variable ${i + 1}`, onclick: () => row.remove() }, 'Remove'));
    rows.append(row);
  };
  for (const [k, v] of Object.entries(a.env ?? {})) addRow(k, v);
  const limits = Object.entries(a.limits ?? {}).map(([k, v]) =>
    field(`limit-${k}`, k.replaceAll('_', ' '), h('input', { type: 'number', min: '0', value: String(v), 'data-limit': k })),
  );
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title' }, 'Settings'),
    h('h3', {}, 'Environment variables'),
    rows,
    h('button', { type: 'button', class: 'quiet', onclick: () => addRow() }, 'Add variable'),
    h('h3', {}, 'Limits'),
    h('div', { class: 'grid' }, limits),
    h('button', { type: 'submit' }, 'Save settings'),
  );
  form.addEventListener(
    'submit',
    action(async () => {
      const env = {};
      for (const row of rows.children) {
        const [k, v] = row.querySelectorAll('input');
        if (k.value.trim()) env[k.value.trim()] = v.value;
      }
      const lim = {};
      for (const i of form.querySelectorAll('[data-limit]')) lim[i.dataset.limit] = Number(i.value);
      await api('PATCH', `/apps/${seg(a.name)}`, { env, limits: lim });
      toast(`Settings of ${a.name} saved: a new version serves.`);
      await route();
    }),
  );
  return form;
}

async function versionsCard(name) {
  const vs = (await api('GET', `/apps/${seg(name)}/versions`)).versions;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'versions-title' },
    h('h2', { id: 'versions-title' }, 'Versions'),
    table(
      `Versions of ${name}`,
      ['Version', 'Stored', 'Entry', 'Files', ''],
      vs.map((v) => [`v${v.version}${v.current ? ' (serving)' : ''}`, when(v.updated_ms), v.entry ?? '–', v.files.join(', ') || 'folder', '']),
    ),
    vs.length > 1
      ? h(
          'button',
          {
            type: 'button',
            onclick: action(async () => {
              if (!confirm(`Roll ${name} back to v${vs[1].version}?`)) return;
              await api('POST', `/apps/${seg(name)}/rollback`);
              toast(`${name} rolled back to v${vs[1].version}.`);
              await route();
            }),
          },
          `Roll back to v${vs[1].version}`,
        )
      : h('p', { class: 'muted' }, 'No previous version to roll back to.'),
  );
}

function scheduledCard(a) {
  const cron = h('input', { autocomplete: 'off', placeholder: a.triggers?.crons?.[0] ?? '' });
  const out = h('p', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card inline', 'aria-labelledby': 'sched-title' },
    h('h2', { id: 'sched-title' }, 'Run scheduled'),
    field('sched-cron', 'Cron (optional)', cron, 'empty: the app’s first cron trigger'),
    h('button', { type: 'submit' }, 'Run scheduled now'),
    out,
  );
  form.addEventListener(
    'submit',
    action(async () => {
      const q = cron.value.trim() ? `?cron=${encodeURIComponent(cron.value.trim())}` : '';
      const r = (await api('POST', `/apps/${seg(a.name)}/scheduled${q}`)).scheduled;
      out.textContent = `Ran scheduled("${r.cron}") at ${when(r.scheduledTime)}.`;
    }),
  );
  return form;
}

// ---------------------------------------------------------------- logs

const LEVELS = ['all', 'error', 'warn', 'info', 'debug', 'trace'];

async function logs(view, name) {
  view.append(h('h1', {}, name ? `Logs of ${name}` : 'Logs'));
  const names = (await api('GET', '/apps')).apps.map((a) => a.name);
  const [appField, appSel] = select('logs-app', 'App', names, name);
  appSel.addEventListener('change', () => (location.hash = `#/logs/${seg(appSel.value)}`));
  const [levelField, levelSel] = select('logs-level', 'Level', LEVELS, 'all');
  const reqIn = h('input', { autocomplete: 'off', placeholder: 'request id' });
  const pause = h('input', { type: 'checkbox', id: 'logs-pause' });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  const list = h('ol', { class: 'log', 'aria-label': 'Log lines, newest last', tabindex: '0' });
  view.append(
    h('form', { class: 'inline', 'aria-label': 'Log filters', onsubmit: (e) => e.preventDefault() }, appField, levelField, field('logs-req', 'Request id', reqIn), h('div', { class: 'field check' }, pause, h('label', { for: 'logs-pause' }, 'Pause'))),
    status,
    list,
  );
  if (!name) {
    if (names.length) location.hash = `#/logs/${seg(names[0])}`;
    else status.textContent = 'No apps yet.';
    return;
  }
  let lines = [];
  const render = () => {
    if (pause.checked) return;
    const level = levelSel.value;
    const rid = reqIn.value.trim();
    const shown = lines.filter((l) => (level === 'all' || l.level === level) && (!rid || String(l.request_id ?? '') === rid));
    list.replaceChildren(
      ...shown.slice(-500).map((l) =>
        h(
          'li',
          { class: `lvl-${l.level}` },
          h('time', { datetime: new Date(l.ts_ms).toISOString() }, new Date(l.ts_ms).toLocaleTimeString()),
          h('span', { class: 'lvl' }, l.level),
          l.request_id ? h('button', { type: 'button', class: 'rid', title: 'Show only this request', onclick: () => ((reqIn.value = l.request_id), render()) }, String(l.request_id).slice(0, 12)) : h('span', { class: 'rid' }),
          h('span', { class: 'msg' }, l.msg),
        ),
      ),
    );
    list.scrollTop = list.scrollHeight;
  };
  for (const el of [levelSel, reqIn, pause]) el.addEventListener('input', render);
  const poll = () =>
    every(2000, async () => {
      lines = (await api('GET', `/apps/${seg(name)}/logs`)).logs;
      render();
    });
  // The recent lines first, then the stream from the last of them when the server has one (text/event-stream),
  // else polling every 2 s. A streamed line already shown (same time, same record) is skipped.
  lines = (await api('GET', `/apps/${seg(name)}/logs`)).logs;
  render();
  const since = lines.length ? lines[lines.length - 1].ts_ms : 0;
  const seen = new Set(lines.filter((l) => l.ts_ms === since).map((l) => JSON.stringify(l)));
  const ctl = new AbortController();
  streams.push(ctl);
  const fallBack = (why) => {
    if (ctl.signal.aborted) return;
    status.textContent = why;
    poll();
  };
  try {
    const res = await fetch(`/admin/apps/${seg(name)}/logs?follow=1${since ? `&since=${since}` : ''}`, { headers: headers(), signal: ctl.signal });
    if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      res.body?.cancel();
      return fallBack('Polling every 2 s.');
    }
    status.textContent = 'Live.';
    readEvents(res.body, (data) => {
      if (data.ts_ms < since || (data.ts_ms === since && seen.has(JSON.stringify(data)))) return;
      lines.push(data);
      if (lines.length > 2000) lines.shift();
      render();
    }).catch(() => fallBack('The stream ended: polling every 2 s.'));
  } catch {
    fallBack('Polling every 2 s.');
  }
}

/** Reads a server-sent event stream, calling `onData` with each event's JSON `data`. */
async function readEvents(body, onData) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended');
    buf += value;
    let cut;
    while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) {
        try {
          onData(JSON.parse(data));
        } catch {
          // not a log record
        }
      }
    }
  }
}

// ---------------------------------------------------------------- services

async function services(view, tenant) {
  view.append(h('h1', {}, tenant ? `Services of ${tenant}` : 'Services'));
  const ids = await tenantIds();
  const [tField, tSel] = select('svc-tenant', 'Tenant', ids, tenant);
  tSel.addEventListener('change', () => (location.hash = `#/services/${seg(tSel.value)}`));
  view.append(h('form', { class: 'inline', 'aria-label': 'Choose a tenant', onsubmit: (e) => e.preventDefault() }, tField));
  if (!tenant) {
    if (ids.length) location.hash = `#/services/${seg(ids[0])}`;
    else view.append(h('p', { class: 'muted' }, 'No tenants yet.'));
    return;
  }
  const s = await api('GET', `/tenants/${seg(tenant)}/services`);
  const names = (list) => (list == null ? h('p', { class: 'muted' }, 'Service off.') : list.length ? h('ul', { class: 'names' }, list.map((n) => h('li', {}, n))) : h('p', { class: 'muted' }, 'None.'));
  const grid = h(
    'div',
    { class: 'charts' },
    [
      ['Databases', s.data],
      ['Caches', s.cache],
      ['Buckets', s.storage],
      ['Search indexes', s.search],
    ].map(([t, l]) => h('section', { class: 'card' }, h('h2', {}, t), names(l))),
  );
  const jobs = h('div', { 'aria-live': 'polite' });
  const showErrors = async (q) => {
    const list = (await api('GET', `/tenants/${seg(tenant)}/queue/${seg(q)}?status=ERROR`)).jobs;
    const act = (id, what) =>
      action(async () => {
        await api('POST', `/tenants/${seg(tenant)}/queue/${seg(q)}/${seg(id)}/_${what}`);
        await showErrors(q);
        await refreshQueues();
        toast(`Job ${id} ${what === 'retry' ? 'retried' : 'cancelled'}.`);
      });
    jobs.replaceChildren(
      h('h3', {}, `ERROR jobs of ${q}`),
      table(
        `ERROR jobs of ${q}`,
        ['Job', 'Attempts', 'Last error', 'Job body', ''],
        list.map((j) => [
          String(j.id),
          String(j.attempts ?? '–'),
          j.lastError ?? (j.lastStatus ? `status ${j.lastStatus}` : '–'),
          h('code', {}, JSON.stringify(j.job ?? j.body ?? '').slice(0, 120)),
          h('div', { class: 'actions' }, h('button', { type: 'button', 'aria-label': `Retry job ${j.id}`, onclick: act(j.id, 'retry') }, 'Retry'), h('button', { type: 'button', class: 'danger', 'aria-label': `Cancel job ${j.id}`, onclick: act(j.id, 'cancel') }, 'Cancel')),
        ]),
        'No ERROR jobs.',
      ),
    );
  };
  const queues = h('div');
  const refreshQueues = async () => {
    const qs = (await api('GET', `/tenants/${seg(tenant)}/services`)).queue;
    queues.replaceChildren(
      qs == null
        ? h('p', { class: 'muted' }, 'Service off.')
        : table(
            `Queues of ${tenant}`,
            ['Queue', 'READY', 'ERROR', ''],
            qs.map((q) => [q.name, String(q.ready), String(q.error), q.error ? h('button', { type: 'button', 'aria-label': `Show ERROR jobs of ${q.name}`, onclick: action(() => showErrors(q.name)) }, 'Show ERROR jobs') : '']),
            'No queues.',
          ),
    );
  };
  view.append(grid, h('section', { class: 'card' }, h('h2', {}, 'Queues'), queues, jobs));
  await refreshQueues();
}

export const pages = { overview, tenants, apps, logs, services };
