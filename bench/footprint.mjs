// Footprint in the lab (bench/footprint.sh runs it with PORTICO_BIN = the x86_64 musl router
// build): bytes on the wire and requests of the first wizard page and of the overview, cold
// cache, Chromium over plain HTTP (Network.loadingFinished's encodedDataLength), and the RSS of
// `serve` in the router namespace idle with the portal and the offload on, then after creating
// and printing 1000 vouchers. Prints the figures; the whole measurement goes to
// target/footprint.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startLab, ROUTER, PASSWORD, waitFor, firstBoot, a11y, sizes } from '../e2e/tests/lab.mjs';

/** Loads `path` in a fresh context (cold cache) and sums what crossed the wire until idle. */
async function weigh(browser, path, cookies = []) {
  const context = await browser.newContext();
  await context.addCookies(cookies);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const requests = new Map();
  cdp.on('Network.requestWillBeSent', (e) => requests.set(e.requestId, { url: e.request.url, bytes: 0 }));
  cdp.on('Network.loadingFinished', (e) => {
    const r = requests.get(e.requestId);
    if (r) r.bytes = e.encodedDataLength;
  });
  await page.goto(`${ROUTER}${path}`, { waitUntil: 'networkidle' });
  const url = page.url();
  await context.close();
  const list = [...requests.values()];
  return {
    url,
    requests: list.length,
    bytes: list.reduce((sum, r) => sum + r.bytes, 0),
    files: list.map((r) => ({ url: r.url.replace(ROUTER, ''), bytes: r.bytes })),
  };
}

/** VmRSS and VmHWM of the serve process over `root`, in KiB. */
function rss(root) {
  const pid = execFileSync('pgrep', ['-f', `serve --root ${root}`], { encoding: 'utf8' }).trim().split('\n')[0];
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))[1]);
  return { rss_kib: kib('VmRSS'), peak_kib: kib('VmHWM') };
}

const lab = await startLab();
try {
  const wizard = await weigh(lab.browser, '/');

  // First boot in a browser (as a person would), then log in for the admin pages.
  const context = await lab.browser.newContext({ viewport: sizes.phone });
  const page = await context.newPage();
  await firstBoot(page, a11y('footprint'), 'phone');
  await page.goto(`${ROUTER}/`);
  if (page.url().endsWith('/login')) {
    await page.fill('#password', PASSWORD);
    await page.locator('form[action="/login"] button[type=submit]').click();
    await page.waitForURL(`${ROUTER}/`);
  }
  const cookies = await context.cookies();
  const overview = await weigh(lab.browser, '/', cookies);

  // The portal on (the offload is on by default), then idle.
  await page.goto(`${ROUTER}/portal`);
  await page.getByLabel('Ask guests for a voucher').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Portal settings saved.').waitFor();
  // Requests go from the page (the client namespace), never from this process.
  const fetchText = (path) => page.evaluate(async (p) => {
    const r = await fetch(p);
    if (!r.ok) throw new Error(`${p}: ${r.status}`);
    return r.text();
  }, path);
  const offload = JSON.parse(await fetchText('/api/v1/offload'));
  if (!offload.running) throw new Error(`the offload is not running: ${JSON.stringify(offload)}`);
  await new Promise((r) => setTimeout(r, 10_000));
  const idle = rss(lab.root);

  // 1000 vouchers, created and printed through the admin pages.
  await page.goto(`${ROUTER}/portal`);
  await page.fill('#v-qty', '1000');
  await page.locator('form[action="/portal/vouchers"] button[type=submit]').click();
  await waitFor('1000 vouchers', async () => {
    const csv = await fetchText('/portal/vouchers.csv');
    return csv.trim().split('\n').length >= 1001;
  });
  await page.goto(`${ROUTER}/portal/print`);
  await page.waitForLoadState('networkidle');
  const vouchers = rss(lab.root);
  await context.close();
  writeFileSync('../target/footprint.json', JSON.stringify({ wizard, overview, idle, vouchers }, null, 2));
  const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
  const mib = (k) => `${(k / 1024).toFixed(1)} MiB`;
  for (const [name, p] of [['first wizard page', wizard], ['overview', overview]]) {
    console.log(`${name.padEnd(18)} ${kib(p.bytes)} in ${p.requests} requests (${p.url})`);
    for (const f of p.files) console.log(`    ${kib(f.bytes).padStart(10)}  ${f.url}`);
  }
  console.log(`serve idle, portal + offload on: RSS ${mib(idle.rss_kib)} (peak ${mib(idle.peak_kib)})`);
  console.log(`after 1000 vouchers made and printed: RSS ${mib(vouchers.rss_kib)} (peak ${mib(vouchers.peak_kib)})`);
} finally {
  await lab.stop();
}
