// The peer view in a real Chromium, inside the BLE lab VM (run by driver.py): log in to one
// Portico, see the other instance live on /bluetooth, send it a 500 B test message from the
// page and watch the result arrive over the live table (Server-Sent Events, no reload).
// Usage: node peer-view.mjs BASE_URL PASSWORD PEER_Q8ID OUT_DIR
import { createRequire } from 'node:module';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, '../../e2e/package.json'));
const { chromium } = require('playwright-core');

const [base, password, peer, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-dev-shm-usage'],
  timeout: 300_000,
});
try {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  page.setDefaultTimeout(300_000);
  page.setDefaultNavigationTimeout(300_000);
  await page.goto(`${base}/login`);
  await page.fill('#password', password);
  await page.locator('form.card button[type=submit]').click();
  await page.waitForURL(`${base}/`);
  await page.goto(`${base}/bluetooth`);
  const card = page.locator(`li.peer[data-peer="${peer}"]`);
  await card.getByText(/connected \((central|peripheral)\)/).waitFor();
  const before = (await card.locator('.counts').textContent()) ?? '';
  await card.getByLabel('Test message size').selectOption('500');
  await card.getByRole('button', { name: 'Send test message' }).click();
  await page.getByText('Test message handed to the link').waitFor();
  // The outcome arrives on the live table (the page is not reloaded from here on).
  await page.locator(`li.peer[data-peer="${peer}"] .last-sent`, { hasText: '500 B delivered' }).waitFor();
  const after = (await page.locator(`li.peer[data-peer="${peer}"] .counts`).textContent()) ?? '';
  // Chromium under software emulation cannot always capture: the screenshot is a bonus.
  const shot = await page.screenshot({ path: `${out}/peer-view.png` }).then(() => 'peer-view.png', (e) => `no screenshot (${e.message.split('\n')[0]})`);
  console.log(`peer view: ${peer} connected; counters before "${before.trim()}", after "${after.trim()}"; ${shot}`);
} finally {
  await browser.close();
}
