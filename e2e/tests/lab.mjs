// A lab of the e2e suite's own: `portico lab up --suffix …`, Portico serving in its router
// namespace, and a Chromium wrapper that runs inside its client namespace (design.md, rule 3).
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const BIN = process.env.PORTICO_BIN ?? resolve('../target/debug/portico');
// The community data site's build (`cargo build -p portico --features mongodb`, copied here).
export const SITE_BIN = process.env.PORTICO_SITE_BIN ?? resolve('../target/debug/portico-site');
export const SHOTS = resolve('../target/e2e');
export const ROUTER = 'http://192.168.1.1';
/** The admin password of the e2e labs (it satisfies the wizard's rules). */
export const PASSWORD = 'Correct-Horse-Battery-9';
export const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * An axe-core check for the pages of one test file: no serious or critical violation of
 * WCAG 2 A/AA (axe is injected through the DevTools protocol, which the page's CSP does not
 * govern). Results go to target/e2e/axe-<suite>.json.
 */
export function a11y(suite) {
  const results = [];
  return async (page, name) => {
    await page.evaluate(AXE);
    const result = await page.evaluate(() => globalThis.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    }));
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    results.push({ page: name, url: page.url(), passes: result.passes.length,
      violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })) });
    writeFileSync(`${SHOTS}/axe-${suite}.json`, JSON.stringify(results, null, 2));
    assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`), [],
      `accessibility of ${name}`);
  };
}

/**
 * A logged-in admin's page in a context of its own at `viewport` (close the context after);
 * `options` go to the context (`{ javaScriptEnabled: false }`).
 */
export async function adminPage(lab, viewport = sizes.desktop, options = {}) {
  const context = await lab.browser.newContext({ viewport, locale: 'en-US', ...options });
  const page = await context.newPage();
  await page.goto(`${ROUTER}/login`);
  await page.fill('#password', PASSWORD);
  await page.locator('form.card button[type=submit]').click();
  await page.waitForURL(`${ROUTER}/`);
  return { context, page };
}

/**
 * Fails when the page is wider than its screen (a phone's 390 px), naming the innermost
 * elements that reach past the edge.
 */
export async function assertFits(page, what) {
  const { scroll, client, wide } = await page.evaluate(() => {
    const client = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > client + 0.5)
      .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > client + 0.5))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className ? `.${String(e.className).replace(/ /g, '.')}` : ''} (${Math.round(e.getBoundingClientRect().right)} px)`);
    return { scroll: document.documentElement.scrollWidth, client, wide };
  });
  assert.ok(scroll <= client, `${what}: ${scroll} px wide on a ${client} px screen: ${wide.join(', ')}`);
}

/**
 * Waits until every island on the page is hydrated (the page's script marks each outermost
 * `leptos-island` it hydrated): an island missing from the page's bundle would stay inert.
 * Returns how many there are.
 */
export async function assertIslandsHydrate(page, what) {
  let left = [];
  let count = 0;
  await waitFor(`${what}: every island hydrated`, async () => {
    ({ left, count } = await page.evaluate(() => {
      const outer = [...document.querySelectorAll('leptos-island')]
        .filter((el) => !el.parentElement.closest('leptos-island'));
      return {
        count: outer.length,
        left: outer.filter((el) => !('hydrated' in el.dataset)).map((el) => el.dataset.component),
      };
    }));
    return left.length === 0;
  }).catch((err) => { throw new Error(`${err.message}: ${left.join(', ')}`); });
  return count;
}

/** Waits until a wizard page is hydrated: its password reveal button works only then. */
export async function waitForWizardHydration(page) {
  await waitFor('hydration', async () => {
    await page.locator('button.reveal').click({ timeout: 1000 });
    return (await page.locator('#f-password').getAttribute('type')) === 'text';
  });
  await page.locator('button.reveal').click();
}

/** The shortest first boot: language, name and password, Apply, keep. */
export async function firstBoot(page, checkA11y, size, { keep = true } = {}) {
  await page.goto(`${ROUTER}/`);
  assert.match(page.url(), /\/setup\/language$/);
  // Nothing on the first page changes as one types: it has no island and loads no WASM.
  assert.equal(await page.locator('leptos-island').count(), 0, 'the first page has no island');
  await checkA11y(page, `wizard language (${size})`);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.waitForURL(/\/setup\/system$/);
  await waitForWizardHydration(page);
  await page.fill('#f-system-hostname', 'e2e-first-boot');
  await page.fill('#f-password', PASSWORD);
  await page.fill('#f-password_repeat', PASSWORD);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.waitForURL(/\/setup\/internet$/);
  await page.goto(`${ROUTER}/setup/summary`);
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/\/setup\/applied$/);
  if (!keep) {
    await page.getByRole('button', { name: 'Revert now' }).click();
    await page.getByText('Reverted as you asked').waitFor();
    return;
  }
  await page.getByRole('button', { name: 'Keep the change' }).click();
  await page.waitForURL(`${ROUTER}/`);
}

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); });
});

export async function waitFor(what, probe, deadlineMs = 60_000) {
  const start = Date.now();
  let lastError;
  for (;;) {
    const value = await probe().catch((e) => { lastError = e; return undefined; });
    if (value) return value;
    if (Date.now() - start > deadlineMs) {
      throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startLab() {
  const suffix = `e2e${process.pid}`;
  const [admin, portal] = [await freePort(), await freePort()];
  const labArgs = ['--suffix', suffix, '--forward-admin', `127.0.0.1:${admin}`, '--forward-portal', `127.0.0.1:${portal}`];
  execFileSync(BIN, ['lab', 'up', ...labArgs], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'portico-e2e-'));
  const server = spawn('ip', ['netns', 'exec', `router-${suffix}`, BIN, 'serve', '--root', join(dir, 'root'), '--listen', '0.0.0.0:80'],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  const wrapper = join(dir, 'chromium-in-client');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec client-${suffix} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await chromium.launch({
    executablePath: wrapper,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  mkdirSync(SHOTS, { recursive: true });
  // Portico is up once the client namespace can load a page.
  const probe = await browser.newPage();
  await waitFor('portico in the router namespace', async () => (await probe.goto(`${ROUTER}/healthz`)).ok());
  await probe.close();
  return {
    browser,
    suffix,
    /** The state root of the Portico in the router namespace (its /etc/config and more). */
    root: join(dir, 'root'),
    adminForward: `http://127.0.0.1:${admin}`,
    /** The HTTP status `curl` gets from inside the client namespace (the same device as the browser). */
    clientStatus(url) {
      const curl = spawnSync('ip', ['netns', 'exec', `client-${suffix}`, 'curl', '-sS', '-m', '5', '-o', '/dev/null',
        '-w', '%{http_code}', url], { encoding: 'utf8' });
      if (curl.status !== 0) throw new Error(`curl ${url}: exit ${curl.status}: ${curl.stderr.trim()}`);
      return Number(curl.stdout);
    },
    /** Runs the portico CLI over the lab router's root (in the host namespace: files only). */
    cli(...args) {
      return execFileSync(BIN, ['--root', join(dir, 'root'), ...args], { encoding: 'utf8' });
    },
    async stop() {
      await browser.close().catch(() => {});
      server.kill('SIGTERM');
      execFileSync(BIN, ['lab', 'down', ...labArgs], { stdio: 'inherit' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
