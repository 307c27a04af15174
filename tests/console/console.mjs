// Drives nano's operator console in Debian's headless Chromium (through playwright-core), as an operator would:
// log in, create a tenant and a key, deploy an app by dropping a bundle, watch its request counter move and its
// console line appear in the live log, edit its env, deploy a second version, roll back, run `scheduled`, look at
// the tenant's services, then delete the app and the tenant. Fails on any failed check, page error or console
// error. Screenshots of every page, at 1280 px and at a phone's width, go to the folder given.
//   node console.mjs <nano base url> <admin token> <screenshot dir>
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, adminToken, shots] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WIDE = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let passed = 0;
const failures = [];
function check(ok, what, detail = '') {
  if (ok) passed += 1;
  else {
    failures.push(detail ? `${what}: ${detail}` : what);
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`);
  }
}

/** GET / of the app by its Host, from outside the browser. */
function hit(host, pathname = '/') {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: pathname, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** nano's services REST API for tenant `t` (cloud path layout; dev has auth off). */
async function rest(method, pathname, body) {
  const res = await fetch(`${base}${pathname}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}

const appV1 = `export default {
  async fetch(request, env) {
    const id = request.headers.get('x-test-id') ?? '';
    console.log('hello from v1', id);
    return new Response('v1 ' + (env.GREETING ?? ''));
  },
  async scheduled(event) { console.log('tick', event.cron); },
};
`;
const appV2 = `export default {
  async fetch() { console.warn('hello from v2'); return new Response('v2'); },
};
`;

async function shot(page, name) {
  for (const [label, size] of [['', WIDE], ['-phone', PHONE]]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(150);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${name}${label}: no sideways scrolling of the page`, `${overflow}px wider`);
    await page.screenshot({ path: path.join(shots, `${name}${label}.png`), fullPage: label === '' });
  }
  await page.setViewportSize(WIDE);
}

/** Every form control on the page has a label (a <label for>, aria-label or aria-labelledby). */
async function labelled(page, what) {
  const bare = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => el.type !== 'hidden' && !el.labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  check(bare.length === 0, `${what}: every control has a label`, bare.join(' | '));
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const page = await browser.newPage({ viewport: WIDE });
  const errors = [];
  // The console first asks the API without a token (it may be open): that 401 is expected, as is a wrong token's.
  let expect401 = true;
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (expect401 && /401/.test(m.text())) return;
    errors.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => d.accept());

  // Log in: a wrong token is refused, the right one opens the console; the token never shows in the URL.
  await page.goto(`${base}/admin/ui/`);
  await page.getByLabel('Admin token', { exact: true }).waitFor();
  await labelled(page, 'login');
  await shot(page, 'login');
  expect401 = true;
  await page.getByLabel('Admin token', { exact: true }).fill('wrong');
  await page.keyboard.press('Enter');
  await page.getByText('The token was refused.').waitFor();
  check(true, 'a wrong token is refused');
  await page.getByLabel('Admin token', { exact: true }).fill(adminToken);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  expect401 = false;
  check(!page.url().includes(adminToken), 'the token is not in the URL', page.url());
  check(
    (await page.evaluate(() => sessionStorage.getItem('nano-admin-token'))) === adminToken,
    'the token is kept in the session',
  );

  // Keyboard: the skip link is the first stop and lands on the page.
  await page.keyboard.press('Tab');
  check((await page.evaluate(() => document.activeElement?.textContent)) === 'Skip to content', 'the first Tab stop is the skip link');

  // Tenants: create one, issue a key (its secret and connection strings shown once).
  await page.getByRole('navigation').getByRole('link', { name: 'Tenants' }).click();
  await page.getByLabel('New tenant id', { exact: true }).fill('acme');
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await page.getByRole('heading', { name: 'Keys of acme' }).waitFor();
  check(await page.getByRole('rowheader', { name: 'acme' }).isVisible(), 'the new tenant is listed');
  await page.getByLabel('Domains (optional, comma-separated)', { exact: true }).fill('movies');
  await page.getByRole('button', { name: 'Issue key' }).click();
  const secretBox = page.locator('.secret');
  await secretBox.waitFor();
  const shown = await secretBox.innerText();
  check(/Connection string/.test(shown) && /http:\/\/[^:]+:[^@]+@/.test(shown), 'the connection string is shown', shown);
  check(/shown once/.test(shown), 'the page says the secret is shown once');
  await page.locator('table').getByRole('button', { name: /^Revoke key / }).first().waitFor();
  check((await page.getByRole('button', { name: /^Revoke key / }).count()) === 1, 'the key is listed');
  await labelled(page, 'tenants');
  await shot(page, 'tenants');
  await page.getByRole('button', { name: 'I have copied them' }).click();
  check((await page.locator('.secret').count()) === 0, 'the secret is gone once dismissed');
  // A second key, revoked.
  await page.getByRole('button', { name: 'Issue key' }).click();
  await page.locator('.secret').waitFor();
  await page.getByRole('button', { name: 'I have copied them' }).click();
  await page.getByRole('button', { name: /^Revoke key / }).nth(1).waitFor();
  await page.getByRole('button', { name: /^Revoke key / }).nth(1).click();
  await page.getByText(/Key \S+ revoked/).waitFor();
  check((await page.getByRole('button', { name: /^Revoke key / }).count()) === 1, 'a revoked key leaves the list');
  // Export downloads the tenant's archive.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export acme' }).click()]);
  const archive = fs.readFileSync(await download.path(), 'utf8');
  check(download.suggestedFilename() === 'acme.ndjson' && archive.trim().split('\n').length >= 1, 'export downloads the archive', download.suggestedFilename());
  // Keyboard only: create a tenant with Enter, delete it from its focused button.
  await page.getByLabel('New tenant id', { exact: true }).focus();
  await page.keyboard.type('beta');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Keys of beta' }).waitFor();
  await page.getByLabel('Export archive (.ndjson)', { exact: true }).setInputFiles(await download.path());
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText(/^Imported \d+ databases/).waitFor();
  check(true, "acme's archive imports into beta");
  await page.getByRole('button', { name: 'Delete beta' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('Tenant beta deleted.').waitFor();
  await page.waitForFunction(() => ![...document.querySelectorAll('tbody th')].some((t) => t.textContent === 'beta'));
  check(true, 'a tenant is created and deleted from the keyboard');
  await page.goto(`${base}/admin/ui/#/tenants/acme`);
  await page.getByRole('heading', { name: 'Keys of acme' }).waitFor();

  // Apps: deploy by dropping a bundle.
  await page.getByRole('navigation').getByRole('link', { name: 'Apps' }).click();
  await page.getByRole('heading', { name: 'Deploy an app' }).waitFor();
  await page.getByRole('button', { name: 'Reload config and apps folder' }).click();
  await page.getByText(/^Reloaded the config file and the apps folder: \d+ loaded/).waitFor();
  check(true, 'a reload runs from the console');
  await page.getByLabel('App name', { exact: true }).fill('hello');
  await page.getByLabel('Tenant', { exact: true }).selectOption('acme');
  await page.evaluate((source) => {
    const dt = new DataTransfer();
    dt.items.add(new File([source], 'index.js', { type: 'text/javascript' }));
    const zone = document.querySelector('.drop');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, appV1);
  await page.getByText('Bundle: index.js').waitFor();
  await labelled(page, 'apps');
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();
  await page.getByRole('heading', { name: 'App hello' }).waitFor();
  let res = await hit('hello.localhost');
  check(res.status === 200 && res.body === 'v1 ', 'the dropped bundle serves', JSON.stringify(res));

  // Overview: the request counter moves.
  await page.getByRole('navigation').getByRole('link', { name: 'Overview' }).click();
  const cell = page.getByRole('row', { name: /^hello / }).getByRole('cell').nth(2);
  await cell.waitFor();
  const before = Number(await cell.innerText());
  for (let i = 0; i < 5; i++) await hit('hello.localhost');
  await page.waitForFunction(
    (n) => {
      const row = [...document.querySelectorAll('tbody tr')].find((r) => r.querySelector('th')?.textContent === 'hello');
      return row && Number(row.querySelectorAll('td')[2].textContent) >= n;
    },
    before + 5,
    { timeout: 30000 },
  );
  check(true, 'the request counter moved');
  await page.waitForFunction(() => document.querySelector('.chart polyline')?.getAttribute('points')?.includes(' '), null, { timeout: 30000 });
  // Some steady traffic, so the charts show it.
  for (let i = 0; i < 12; i++) {
    await Promise.all([hit('hello.localhost'), hit('hello.localhost'), hit('hello.localhost')]);
    await page.waitForTimeout(400);
  }
  await shot(page, 'overview');

  // Live logs: the app's console line appears; filters by level and request id.
  await page.getByRole('navigation').getByRole('link', { name: 'Logs' }).click();
  await page.getByLabel('App', { exact: true }).selectOption('hello');
  await page.getByRole('heading', { name: 'Logs of hello' }).waitFor();
  await hit('hello.localhost');
  await page.locator('.log li', { hasText: 'hello from v1' }).first().waitFor({ timeout: 30000 });
  check(true, 'a console line appears in the live log');
  await page.getByLabel('Level', { exact: true }).selectOption('error');
  check((await page.locator('.log li', { hasText: 'hello from v1' }).count()) === 0, 'the level filter hides log lines');
  await page.getByLabel('Level', { exact: true }).selectOption('all');
  const rid = (await page.locator('.log li button.rid').allInnerTexts())[0];
  if (rid) {
    await page.getByLabel('Request id', { exact: true }).fill(rid);
    const ids = await page.locator('.log li button.rid').allInnerTexts();
    check(ids.length > 0 && ids.every((t) => t === rid), 'the request id filter keeps that request only', ids.join(','));
    await page.getByLabel('Request id', { exact: true }).fill('');
  }
  await labelled(page, 'logs');
  await shot(page, 'logs');

  // App page: edit env, deploy a second version from a file, roll back to the first.
  await page.goto(`${base}/admin/ui/#/apps/hello`);
  await page.getByRole('heading', { name: 'Settings' }).waitFor();
  await page.getByRole('button', { name: 'Add variable' }).click();
  await page.getByLabel('Variable 1 name', { exact: true }).fill('GREETING');
  await page.getByLabel('Variable 1 value', { exact: true }).fill('hi');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings of hello saved').waitFor();
  res = await hit('hello.localhost');
  check(res.body === 'v1 hi', 'an env edit serves', res.body);
  await page.getByLabel('Or choose files', { exact: true }).setInputFiles({ name: 'index.js', mimeType: 'text/javascript', buffer: Buffer.from(appV2) });
  await page.getByText('Bundle: index.js').waitFor();
  await page.getByRole('button', { name: 'Deploy', exact: true }).click();
  await page.getByText('App hello deployed.').waitFor();
  res = await hit('hello.localhost');
  check(res.body === 'v2', 'the second version serves', res.body);
  await page.getByRole('cell', { name: 'v3 (serving)' }).or(page.getByRole('rowheader', { name: 'v3 (serving)' })).waitFor();
  await page.getByRole('button', { name: 'Run scheduled now' }).waitFor();
  await labelled(page, 'app');
  await shot(page, 'app');
  await page.getByRole('button', { name: /^Roll back to v2/ }).click();
  await page.getByText('hello rolled back to v2').waitFor();
  res = await hit('hello.localhost');
  check(res.body === 'v1 hi', 'the rollback serves the previous version', res.body);
  await page.getByRole('button', { name: 'Run scheduled now' }).click();
  await page.getByText(/Ran scheduled/).waitFor();
  check(true, 'scheduled runs from the console');

  // Apps list shows status and version.
  await page.getByRole('navigation').getByRole('link', { name: 'Apps' }).click();
  const row = page.getByRole('row', { name: /^hello / });
  await row.waitFor();
  const text = await row.innerText();
  check(/serving/.test(text) && /\b4\b/.test(text), 'the apps list shows status and version', text);
  await shot(page, 'apps');

  // Services of the tenant: a database and a queue made through the REST API show up, with a failed job retried.
  await rest('PUT', '/acme/data/movies');
  await rest('PUT', '/acme/cache/sessions');
  await rest('PUT', '/acme/queue/mail', { target: 'http://127.0.0.1:9/', maxAttempts: 1 });
  await rest('POST', '/acme/queue/mail', { to: 'someone' });
  await page.getByRole('navigation').getByRole('link', { name: 'Services' }).click();
  await page.getByLabel('Tenant', { exact: true }).selectOption('acme');
  await page.getByRole('heading', { name: 'Services of acme' }).waitFor();
  const listed = (text) => page.getByText(text, { exact: true }).waitFor().then(() => true, () => false);
  check(await listed('movies'), 'the database is listed');
  check(await listed('sessions'), 'the cache is listed');
  const mail = page.getByRole('row', { name: /^mail / });
  await mail.waitFor();
  let errored = false;
  for (let i = 0; i < 40 && !errored; i++) {
    errored = (await mail.getByRole('cell').nth(1).innerText()) !== '0';
    if (!errored) {
      await page.waitForTimeout(1000);
      await page.reload();
      await mail.waitFor();
    }
  }
  check(errored, 'the failed job is counted as ERROR');
  if (errored) {
    await page.getByRole('button', { name: 'Show ERROR jobs of mail' }).click();
    await page.getByRole('button', { name: /^Retry job / }).first().click();
    await page.getByText(/retried/).waitFor();
    check(true, 'an ERROR job is retried');
  }
  await labelled(page, 'services');
  await shot(page, 'services');

  // Delete the app, then the tenant.
  await page.goto(`${base}/admin/ui/#/apps/hello`);
  await page.getByRole('button', { name: 'Delete app hello' }).click();
  await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor();
  await page.getByText('App hello deleted.').waitFor();
  res = await hit('hello.localhost');
  check(res.body !== 'v1 hi', 'the deleted app no longer serves', res.body);
  await page.getByRole('navigation').getByRole('link', { name: 'Tenants' }).click();
  await page.getByRole('button', { name: 'Delete acme' }).click();
  await page.getByText('Tenant acme deleted.').waitFor();
  await page.waitForFunction(() => ![...document.querySelectorAll('tbody th')].some((t) => t.textContent === 'acme'));
  check(true, 'the tenant is deleted');

  // Log out: the token leaves the session.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Admin token', { exact: true }).waitFor();
  check((await page.evaluate(() => sessionStorage.getItem('nano-admin-token'))) === null, 'logging out forgets the token');

  check(errors.length === 0, 'no page or console errors', errors.join(' | '));
  await browser.close();
  console.log(`${passed} checks passed, ${failures.length} failed`);
  if (failures.length) process.exit(1);
}

main().catch((e) => {
  console.error(`FAIL ${e.stack ?? e}`);
  console.log(`${passed} checks passed, ${failures.length + 1} failed`);
  process.exit(1);
});
