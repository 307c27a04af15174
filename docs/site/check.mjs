// Browser check of the built site (run `npm run build` first): serves dist/ on a loopback port, opens every page in
// headless Chromium (Debian's /usr/bin/chromium through playwright-core), and fails on any console error, page
// error or failed same-site request; checks that every internal link answers 200 and every #anchor exists; and
// checks that the site search (Pagefind) finds "hyper-connect".
//   node check.mjs [--screenshot /page/path/ out.png]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serveStatic } from './serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SEARCH_TERM = 'hyper-connect';

let passed = 0;
const failures = [];
function check(ok, what, detail = '') {
  if (ok) {
    passed += 1;
  } else {
    failures.push(detail ? `${what}: ${detail}` : what);
    console.log(`FAIL ${what}${detail ? `: ${detail}` : ''}`);
  }
}

/** Every page of the build, as URL paths: `dir/index.html` is `/dir/`, plus `/404.html`. */
function pagesOf(dir, prefix = '/') {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name === '_astro' || entry.name === 'pagefind') continue;
      out.push(...pagesOf(path.join(dir, entry.name), `${prefix}${entry.name}/`));
    } else if (entry.name === 'index.html') {
      out.push(prefix);
    } else if (entry.name.endsWith('.html')) {
      out.push(prefix + entry.name);
    }
  }
  return out.sort();
}

async function main() {
  const shot = process.argv.indexOf('--screenshot');
  if (!fs.existsSync(path.join(dist, 'index.html'))) {
    console.error('dist/index.html is missing: run `npm run build` first');
    process.exit(2);
  }
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/docs-check.sh does)`);
    process.exit(2);
  }
  const { server, url: origin } = await serveStatic(dist);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const pages = pagesOf(dist);
    check(pages.length >= 10, 'the build has the manual\'s pages', `found ${pages.length}: ${pages.join(' ')}`);
    const links = new Map(); // target URL (no hash) -> { from, hashes: Map(hash -> from) }
    for (const pagePath of pages) {
      const page = await context.newPage();
      const problems = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('requestfailed', (req) => {
        if (req.url().startsWith(origin)) problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`);
      });
      page.on('response', (res) => {
        if (res.url().startsWith(origin) && res.status() >= 400) problems.push(`HTTP ${res.status()} for ${res.url()}`);
      });
      const res = await page.goto(origin + pagePath, { waitUntil: 'networkidle' });
      check(res?.status() === 200, `${pagePath} answers 200`, `status ${res?.status()}`);
      const title = await page.locator('h1').first().textContent();
      check(Boolean(title && title.trim()), `${pagePath} has a title`);
      const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.href));
      for (const href of hrefs) {
        const target = new URL(href);
        if (target.origin !== origin) continue;
        const key = target.origin + target.pathname + target.search;
        const entry = links.get(key) ?? { from: pagePath, hashes: new Map() };
        const hash = target.hash && target.hash !== '#' ? decodeURIComponent(target.hash.slice(1)) : '';
        if (hash && !entry.hashes.has(hash)) entry.hashes.set(hash, pagePath);
        links.set(key, entry);
      }
      check(problems.length === 0, `${pagePath} loads without errors`, problems.join('; '));
      await page.close();
    }
    for (const [target, { from, hashes }] of links) {
      const res = await fetch(target, { redirect: 'manual' });
      check(res.status === 200, `link ${target} (from ${from}) answers 200`, `status ${res.status}`);
      if (res.status !== 200 || hashes.size === 0) continue;
      const html = await res.text();
      for (const [hash, linkedFrom] of hashes) {
        const present = html.includes(`id="${hash}"`) || html.includes(`id=${hash} `) || html.includes(`id=${hash}>`);
        check(present, `anchor ${target}#${hash} (from ${linkedFrom}) exists`);
      }
    }
    console.log(`checked ${pages.length} pages and ${links.size} internal link targets`);

    // Site search: open Starlight's search dialog and look for the term.
    const page = await context.newPage();
    const errors = [];
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(origin + '/', { waitUntil: 'networkidle' });
    await page.locator('site-search button[data-open-modal]').click();
    const input = page.locator('.pagefind-ui__search-input');
    await input.fill(SEARCH_TERM);
    let results = [];
    try {
      await page.locator('.pagefind-ui__result').first().waitFor({ timeout: 15000 });
      results = await page.$$eval('.pagefind-ui__result-link', (as) => as.map((a) => a.getAttribute('href')));
    } catch (e) {
      errors.push(`no search results appeared: ${e.message.split('\n')[0]}`);
    }
    check(results.length > 0, `site search finds "${SEARCH_TERM}"`, errors.join('; '));
    check(errors.length === 0, 'site search runs without errors', errors.join('; '));
    for (const href of results) {
      const res = await fetch(new URL(href, origin), { redirect: 'manual' });
      check(res.status === 200, `search result ${href} answers 200`, `status ${res.status}`);
    }
    console.log(`search for "${SEARCH_TERM}": ${results.length} results (${results.slice(0, 5).join(' ')})`);

    if (shot >= 0) {
      const [pagePath, out] = process.argv.slice(shot + 1, shot + 3);
      const p = await context.newPage();
      await p.goto(origin + pagePath, { waitUntil: 'networkidle' });
      await p.screenshot({ path: out, fullPage: false });
      console.log(`screenshot of ${pagePath} written to ${out}`);
    }
  } finally {
    await browser.close();
    server.close();
  }
  console.log(`browser check: ${passed} passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
