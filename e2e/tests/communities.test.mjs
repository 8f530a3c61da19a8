// The communities site in a real Chromium at phone size: overview (top-10 at a date, growth,
// routing with its legend, map, hours of day), stable colours across page loads, keyboard
// and zoom on the hydrated charts, a community page, the same controls without JavaScript,
// and the embeds. Portico and Chromium share a network namespace of their own that has only
// loopback (design.md, rule 3: the browser never runs in the host namespace).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { SITE_BIN as BIN, SHOTS, sizes, a11y, waitFor } from './lab.mjs';

const checkA11y = a11y('communities');
const SHARED = process.env.PORTICO_SHARED ?? resolve('../../shared');
const SNAPSHOT = join(SHARED, 'fixtures/freifunk/20160323-19.01.01-ffSummarizedDir.json');
const NS = `comm-e2e${process.pid}`;
const SITE = 'http://127.0.0.1:8099';
// A second site with one community that reports its count now and then (issue 22, item 1).
const GAPPY = 'http://127.0.0.1:8098';

let dir, server, gappy, browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'portico-communities-e2e-'));
  const data = join(dir, 'data');
  // Two years of daily history, then the real snapshot on top of it.
  execFileSync(BIN, ['communities', 'synth', '--from', SNAPSHOT, '--years', '2', '--seed', '9', '--communities', '320',
    '--start', '2014-06-01', '--into-store', '--data', data], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(BIN, ['communities', 'import', '--data', data, SNAPSHOT], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('ip', ['netns', 'add', NS]);
  execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  server = spawn('ip', ['netns', 'exec', NS, BIN, 'serve', '--profile', 'communities', '--listen', '127.0.0.1:8099', '--data', data],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  // Hamburg as in 2016: counts on the 10th and the 12th, none on the 11th and the 13th.
  const files = join(dir, 'gappy');
  mkdirSync(files);
  for (const [day, state] of [['10', '{"nodes": 586}'], ['11', '{}'], ['12', '{"nodes": 962}'], ['13', '{}']]) {
    writeFileSync(join(files, `201603${day}-10.00.00-ffSummarizedDir.json`),
      `{"hamburg": {"name": "Freifunk Hamburg", "mtime": "2016-03-${day} 10:00:00", "state": ${state}}}`);
  }
  // Issue 22, item 2: three weeks of hourly counts (Monday 2016-02-01 to Sunday the 21st)
  // from a community busiest at 20:00 UTC and a tenth busier at the weekend, growing.
  for (let day = 1; day <= 21; day++) {
    for (let hour = 0; hour < 24; hour++) {
      const weekend = (day - 1) % 7 >= 5 ? 1.1 : 1;
      const nodes = Math.round(200 * (1 + 0.01 * day) * weekend * (1 + 0.1 * Math.cos((hour - 20) / 24 * 2 * Math.PI)));
      const [d, h] = [String(day).padStart(2, '0'), String(hour).padStart(2, '0')];
      writeFileSync(join(files, `201602${d}-${h}.00.00-ffSummarizedDir.json`),
        `{"rhythm": {"name": "Freifunk Rhythmhausen", "mtime": "2016-02-${d} ${h}:00:00", "state": {"nodes": ${nodes}}}}`);
    }
  }
  execFileSync(BIN, ['communities', 'import', '--data', join(dir, 'gappy-data'), files], { stdio: ['ignore', 'ignore', 'inherit'] });
  gappy = spawn('ip', ['netns', 'exec', NS, BIN, 'serve', '--profile', 'communities', '--listen', '127.0.0.1:8098', '--data', join(dir, 'gappy-data')],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  const wrapper = join(dir, 'chromium-in-ns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${NS} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  browser = await chromium.launch({
    executablePath: wrapper,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  mkdirSync(SHOTS, { recursive: true });
  const probe = await browser.newPage();
  await waitFor('the communities site', async () => (await probe.goto(`${SITE}/healthz`)).ok());
  await waitFor('the second site', async () => (await probe.goto(`${GAPPY}/healthz`)).ok());
  await probe.close();
});

after(async () => {
  await browser?.close();
  server?.kill();
  gappy?.kill();
  try { execFileSync('ip', ['netns', 'del', NS]); } catch { /* already gone */ }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A GET from inside the page (Node itself cannot reach the namespace). */
const fetchIn = (page, path) => page.evaluate(async (p) => {
  const r = await fetch(p);
  return { type: r.headers.get('content-type'), body: await r.text() };
}, path);

/** The hydrated growth chart answers the keyboard: End shows the last point's values. */
async function waitForHydration(page) {
  const plot = page.locator('#growth-h ~ figure svg.plot');
  await waitFor('hydration', async () => {
    await plot.focus();
    await page.keyboard.press('End');
    return (await page.locator('#growth-h ~ figure .readout').innerText()).trim().length > 0;
  });
}

/** The routing legend as [label, colour] pairs, and the colours of the areas drawn. */
async function routingColours(page) {
  const legend = await page.locator('#routing-h ~ figure .legend li').evaluateAll((items) => items.map((li) => [
    li.textContent.trim(), li.querySelector('.swatch rect').getAttribute('fill')]));
  const areas = await page.locator('#routing-h ~ figure svg path.area').evaluateAll((paths) => paths.map((p) => p.getAttribute('fill')));
  return { legend, areas };
}

test('overview at phone size: top-10, legend, stable colours, keyboard and zoom', async () => {
  const context = await browser.newContext({ viewport: sizes.phone, locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${SITE}/`);
  await page.getByRole('heading', { name: 'Largest communities' }).waitFor();
  // The real snapshot is the latest: its top-10 by name, with the largest first.
  const bars = page.locator('#top-h ~ figure svg .bar-label');
  assert.equal(await bars.count(), 10);
  assert.equal(await bars.first().textContent(), 'Freifunk Muensterland');
  await page.locator('#top-h ~ figure').screenshot({ path: `${SHOTS}/communities-phone-top.png` });
  await waitForHydration(page);
  const first = await routingColours(page);
  assert.ok(first.legend.length >= 4, `legend: ${JSON.stringify(first.legend)}`);
  assert.equal(first.legend[0][0], 'B.A.T.M.A.N. advanced');
  // The server's colour table, the same in the API.
  const api = JSON.parse((await fetchIn(page, '/api/v1/routing/series?resolution=month')).body);
  assert.equal(api.protocols[0].color, '#332288');
  assert.deepEqual(first.legend, api.protocols.map((p) => [p.label, p.color]), 'the legend shows the server\'s colours');
  assert.deepEqual(new Set(first.areas), new Set(api.protocols.map((p) => p.color)), 'the areas are drawn in them');
  // Nothing on the page is wider than the phone.
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), sizes.phone.width);
  await checkA11y(page, 'overview (phone)');
  await page.screenshot({ path: `${SHOTS}/communities-phone-overview.png`, fullPage: true });

  await page.reload();
  await waitForHydration(page);
  assert.deepEqual(await routingColours(page), first, 'same colours after a reload');

  // Zoom without leaving the page: the period buttons and + refetch through server functions.
  const url = page.url();
  const labels = () => page.locator('#growth-h ~ figure svg text.tick').allTextContents();
  const before = await labels();
  await page.getByRole('button', { name: '1 year' }).click();
  await waitFor('the growth chart to zoom to a year', async () => JSON.stringify(await labels()) !== JSON.stringify(before));
  assert.equal(page.url(), url);
  const year = await labels();
  await page.locator('#growth-h ~ figure svg.plot').focus();
  await page.keyboard.press('+');
  await waitFor('the growth chart to zoom in', async () => JSON.stringify(await labels()) !== JSON.stringify(year));

  // Another date for the top-10.
  await page.fill('#top-h ~ form input[name=at]', '2015-01-15');
  await page.locator('#top-h ~ form').getByRole('button', { name: 'Show' }).click();
  await page.getByText(/Snapshot of 2015-01-15/).waitFor();
  assert.notEqual(await bars.first().textContent(), 'Freifunk Muensterland');

  // The map shows the communities, each a link to its page (issue 22, item 6): a tap area of
  // at least 22 px across on a phone however small the circle, the name while it has the
  // focus, and a legend of the circles' sizes.
  const map = page.locator('#map-h ~ figure svg');
  assert.ok(await map.locator('a circle.site').count() > 250);
  const smallest = await map.locator('circle.tap').evaluateAll((cs) => Math.min(...cs.map((c) => c.getBoundingClientRect().width)));
  assert.ok(smallest >= 21.5, `the smallest tap area is ${smallest} px across`);
  const sizes_ = await map.locator('.size-legend text').allTextContents();
  assert.ok(sizes_.length >= 2 && sizes_.every((t) => /^[\d\u202f]+ nodes$/.test(t)), JSON.stringify(sizes_));
  const site = map.locator('a[aria-label]').first();
  const label = site.locator('.site-label');
  assert.equal(await label.evaluate((t) => getComputedStyle(t).display), 'none');
  await site.focus();
  assert.notEqual(await label.evaluate((t) => getComputedStyle(t).display), 'none');
  const [mapBox, labelBox] = [await map.boundingBox(), await label.boundingBox()];
  assert.ok(labelBox.x >= mapBox.x && labelBox.x + labelBox.width <= mapBox.x + mapBox.width + 0.5, 'the name inside the map');
  await map.screenshot({ path: `${SHOTS}/communities-phone-map.png` });
  const embed = page.locator('#routing-h ~ details.embed-code');
  await embed.locator('summary').click();
  const code = await embed.locator('textarea').inputValue();
  assert.match(code, /<iframe src="http:\/\/127\.0\.0\.1:8099\/embed\/routing\?from=\d+&to=\d+"/);
  assert.match(code, /<img src="http:\/\/127\.0\.0\.1:8099\/embed\/routing\.svg\?from=/);
  await context.close();
});

test('a community page at phone size', async () => {
  const context = await browser.newContext({ viewport: sizes.phone, locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${SITE}/`);
  await page.locator('#top-h ~ figure svg a').first().click();
  await page.waitForURL(/\/community\/muensterland$/);
  await page.getByRole('heading', { name: 'Freifunk Muensterland' }).waitFor();
  await page.getByText('Nodes (latest)').waitFor();
  assert.ok(await page.locator('#series-h ~ figure svg path.line').count() >= 1);
  await checkA11y(page, 'community (phone)');
  await page.screenshot({ path: `${SHOTS}/communities-phone-community.png`, fullPage: true });
  await context.close();
});

// Issue 22, item 1: counts reported now and then are drawn as points (a line needs two in a
// row), and the page's figure is the latest known count with its day.
for (const [name, viewport] of Object.entries(sizes)) {
  test(`a community with gappy counts (${name})`, async () => {
    const context = await browser.newContext({ viewport, locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${GAPPY}/community/hamburg`);
    await page.getByRole('heading', { name: 'Freifunk Hamburg' }).waitFor();
    await page.getByText('962 on 2016-03-12 (the latest count; newer snapshots have none)').waitFor();
    assert.equal(await page.locator('#series-h ~ figure svg circle.point').count(), 2, 'two isolated counts, two points');
    // Issue 22, item 3: every label lies inside its chart, the first and last too; and the
    // chart's text is as large on a phone as on a desktop (about 13 px, whatever the chart's
    // width), on every chart of the page.
    const outside = await page.locator('#series-h ~ figure svg').first().evaluate((svg) => {
      const box = svg.getBoundingClientRect();
      return [...svg.querySelectorAll('text.tick')].filter((t) => getComputedStyle(t).display !== 'none')
        .map((t) => [t.textContent, t.getBoundingClientRect()])
        .filter(([, r]) => r.left < box.left - 0.5 || r.right > box.right + 0.5).map(([text]) => text);
    });
    assert.deepEqual(outside, [], 'labels past the chart\'s edge');
    const sizes_ = await page.locator('figure.chart svg.plot').evaluateAll((svgs) => svgs.flatMap((svg) =>
      [...svg.querySelectorAll('text')].filter((t) => getComputedStyle(t).display !== 'none')
        .map((t) => [t.textContent, parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a])));
    assert.ok(sizes_.length > 10, JSON.stringify(sizes_));
    for (const [text, px] of sizes_) assert.ok(px >= 10.5 && px <= 16.5, `"${text}" drawn at ${px.toFixed(1)} px (${name})`);
    const width = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(width[0] <= width[1], `fits the screen: ${width}`);
    await checkA11y(page, `gappy community (${name})`);
    await page.screenshot({ path: `${SHOTS}/communities-${name}-gappy.png`, fullPage: true });
    await context.close();
  });
}

// Issue 22, item 2: the profiles come from hourly data only, relative to each day's (week's)
// mean, with their sample sizes and period; without hourly data they say so.
test('hours-of-day and weekday profiles with their sample sizes (phone)', async () => {
  const context = await browser.newContext({ viewport: sizes.phone, locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${GAPPY}/community/rhythm`);
  const hours = page.locator('#hours-h ~ figure').first();
  await hours.getByText('averaged over 21 days with at least 20 hours of data, 2016-02-01 to 2016-02-21').waitFor();
  const titles = await hours.locator('svg g > title').allTextContents();
  assert.equal(titles.length, 24, titles.join(' | '));
  // ±10 %, give or take the rounding of whole node counts.
  assert.match(titles[20], /^20: \+(9\.\d|10(\.\d)?)\u00a0% \(21 days\)$/, 'the evening peak');
  assert.match(titles[8], /^08: −(9\.\d|10(\.\d)?)\u00a0% \(21 days\)$/, 'the morning low');
  assert.equal(await hours.locator('svg rect.bar').count(), 24);
  // The table gives every hour's sample size.
  await hours.getByText('Show as a table').click();
  assert.deepEqual(await hours.locator('tbody tr td:nth-child(3)').allTextContents(), Array(24).fill('21'));
  const width = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(width[0] <= width[1], `fits the screen: ${width}`);
  await page.screenshot({ path: `${SHOTS}/communities-phone-profile.png`, fullPage: true });

  // The network's weekdays: three whole weeks; the weekend above every working day.
  await page.goto(`${GAPPY}/`);
  const weekdays = page.locator('#hours-h ~ figure').nth(1);
  await weekdays.getByText('averaged over 3 whole weeks of such days, 2016-02-01 to 2016-02-21').waitFor();
  const days = (await weekdays.locator('svg g > title').allTextContents())
    .map((t) => Number(t.match(/: ([+−±])([\d.]+)/).slice(1).join('').replace('−', '-').replace('±', '')));
  assert.equal(days.length, 7);
  assert.ok(Math.min(days[5], days[6]) > Math.max(...days.slice(0, 5)), `the weekend: ${days}`);

  // Daily history has no rhythm to show: the profile says why, with no bars.
  await page.goto(`${SITE}/`);
  const none = page.locator('#hours-h ~ figure').first();
  await none.getByText('Not enough hourly data for this yet').waitFor();
  assert.equal(await none.locator('svg rect.bar').count(), 0);
  await context.close();
});

// Issue 22, item 11: communities whose API file is down are listed with since when,
// longest first, and their page says so with the collector's error.
test('communities with stale data, since when (phone)', async () => {
  const context = await browser.newContext({ viewport: sizes.phone, locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(`${SITE}/`);
  const items = page.locator('#down-h ~ ul li');
  await items.first().waitFor();
  const texts = await items.allTextContents();
  const times = texts.map((t) => t.match(/Not fetched since (\d{4}-\d\d-\d\d \d\d:00) UTC\.$/)?.[1]);
  assert.ok(times.every(Boolean), texts.join(' | '));
  assert.deepEqual(times, [...times].sort(), 'longest down first');
  const name = await items.first().locator('a').textContent();
  // A link in the hydrated page loads the community's page (its data comes with its HTML).
  await page.locator('html[data-hydrated]').waitFor({ state: 'attached' });
  await items.first().locator('a').click();
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  const notice = await page.locator('p.notice').textContent();
  assert.ok(notice.includes(`Not fetched since ${times[0]} UTC.`), notice);
  assert.ok(notice.includes('The collector\'s error: “could not fetch the API file (timeout)”.'), notice);
  await page.goBack();
  await page.locator('#down-h').waitFor();
  await context.close();
});

// Issue 22, item 3: the growth chart's time labels fall on calendar boundaries and never
// overlap, at hour, day and month resolution, on a phone (checked on the rendered text boxes).
test('time labels never overlap at hour, day and month resolution (phone)', async () => {
  const context = await browser.newContext({ viewport: sizes.phone, locale: 'en-US' });
  const page = await context.newPage();
  for (const [period, resolution, pattern] of [['1w', 'hour', /^(\d\d:00|\d\d-\d\d)$/],
    // Three months of days: days, or months where days do not fit the phone's larger text.
    ['3m', 'day', /^(\d\d-\d\d|\d{4}-\d\d)$/], ['all', 'month', /^\d{4}(-\d\d)?$/]]) {
    await page.goto(`${SITE}/?period=${period}&resolution=${resolution}`);
    const svg = page.locator('#growth-h ~ figure svg').first();
    await svg.locator('text.x-tick').first().waitFor();
    const boxes = await svg.evaluate((s) => {
      const box = s.getBoundingClientRect();
      return {
        box: [box.left, box.right],
        ticks: [...s.querySelectorAll('text.x-tick')].filter((t) => getComputedStyle(t).display !== 'none').map((t) => {
          const r = t.getBoundingClientRect();
          return [t.textContent, r.left, r.right];
        }).sort((a, b) => a[1] - b[1]),
      };
    });
    const what = `${period} at ${resolution}: ${JSON.stringify(boxes.ticks)}`;
    assert.ok(boxes.ticks.length >= 2, what);
    for (const [text] of boxes.ticks) assert.match(text, pattern, what);
    for (let i = 1; i < boxes.ticks.length; i++) {
      assert.ok(boxes.ticks[i - 1][2] <= boxes.ticks[i][1] + 0.5, `overlap: ${what}`);
    }
    for (const [, left, right] of boxes.ticks) {
      assert.ok(left >= boxes.box[0] - 0.5 && right <= boxes.box[1] + 0.5, `outside the chart: ${what}`);
    }
    await page.screenshot({ path: `${SHOTS}/communities-phone-ticks-${resolution}.png`, fullPage: false });
  }
  await context.close();
});

// Issue 22, items 3 and 6: the y axis names what it counts and follows the selected metric; a
// tap on a phone shows the values under the finger, and they stay after the finger lifts.
test('the unit follows the metric and a tap shows the values (phone, touch)', async () => {
  const context = await browser.newContext({ viewport: sizes.phone, locale: 'en-US', hasTouch: true, isMobile: true });
  const page = await context.newPage();
  await page.goto(`${SITE}/`);
  await waitForHydration(page);
  const chart = page.locator('#growth-h ~ figure');
  const unit = chart.locator('svg text.y-unit');
  assert.equal(await unit.textContent(), 'Nodes');
  // Item 4: only points where a material share of the nodes was carried forward are marked,
  // and then the legend says from which share on.
  const marks = await chart.locator('svg rect.stale-mark').count();
  const months = await chart.locator('table tbody tr').count();
  assert.ok(marks < months / 2, `${marks} of ${months} points marked`);
  if (marks > 0) await chart.getByText(/Marked on the time axis: points where 10 % or more/).waitFor();
  await page.locator('#growth-h ~ form select[name=metric]').selectOption('communities');
  await waitFor('the unit to follow the metric', async () => (await unit.textContent()) === 'Communities');
  assert.equal(await chart.locator('table caption').textContent(), 'Communities');
  const box = await chart.locator('svg.plot').boundingBox();
  await page.touchscreen.tap(box.x + box.width * 0.6, box.y + box.height * 0.5);
  await waitFor('the values under the finger', async () =>
    /^\d{4}-\d\d/.test((await chart.locator('.readout span').first().textContent().catch(() => '')) ?? ''));
  assert.match(await chart.locator('.readout').textContent(), /Communities: [\d ]+/);
  await page.screenshot({ path: `${SHOTS}/communities-phone-tap.png`, fullPage: false });
  await context.close();
});

test('without JavaScript the controls are forms the server answers', async () => {
  const context = await browser.newContext({ viewport: sizes.phone, locale: 'en-US', javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${SITE}/`);
  const rows = page.locator('#growth-h ~ figure table tbody tr');
  const all = await rows.count();
  await page.getByRole('button', { name: '3 months' }).click();
  await page.waitForURL(/period=3m/);
  const quarter = await rows.count();
  assert.ok(quarter > 80 && quarter !== all, `3 months at day resolution: ${quarter} rows (was ${all})`);
  await page.screenshot({ path: `${SHOTS}/communities-phone-nojs.png`, fullPage: true });
  await context.close();
});

test('embeds: a minimal page for an iframe and a standalone SVG', async () => {
  const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
  await page.goto(`${SITE}/embed/routing?period=all`);
  assert.ok(await page.locator('.legend li').count() >= 4);
  assert.equal(await page.locator('header').count(), 0);
  // Issue 22, item 8: each embed says what it shows and where it comes from, and has a title.
  assert.equal(await page.title(), 'Routing protocols · Freifunk communities');
  await page.getByRole('heading', { name: 'Routing protocols' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Freifunk communities' }).getAttribute('href'), '/');
  await page.goto(`${SITE}/embed/top?at=2016-03-23`);
  await page.getByRole('heading', { name: 'Largest communities on 2016-03-23' }).waitFor();
  await page.goto(`${SITE}/embed/community?key=muensterland`);
  await page.getByRole('heading', { name: 'Freifunk Muensterland · Nodes' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Freifunk communities' }).getAttribute('href'), '/community/muensterland');
  await page.screenshot({ path: `${SHOTS}/communities-embed-routing.png` });
  const svg = await fetchIn(page, '/embed/routing.svg?period=all');
  assert.equal(svg.type, 'image/svg+xml; charset=utf-8');
  assert.match(svg.body, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.doesNotMatch(svg.body, /<script/);
  // Shown as an image (no script, nothing external): it must render with a size.
  await page.setContent(`<img id="chart" src="${SITE}/embed/routing.svg">`);
  await waitFor('the SVG image', async () => page.locator('#chart').evaluate((img) => img.complete && img.naturalWidth > 0));
  await page.goto(`${SITE}/embed/map.svg`);
  await page.screenshot({ path: `${SHOTS}/communities-embed-map-svg.png` });

  // Issue 22, item 8: the embed code on another page — each iframe takes the height its page
  // reports, so nothing is cut off (the routing legend, the whole map); the interactive chart
  // hydrates, the map (a picture with links) loads no WASM.
  await page.goto(`${SITE}/`);
  const snippet = async (chart) => {
    const details = page.locator(`#${chart}-h ~ details.embed-code`);
    await details.locator('summary').click();
    return details.locator('textarea').inputValue();
  };
  const code = (await snippet('routing')) + (await snippet('map'));
  assert.match(code, /data-portico-embed/);
  // Another site's page with the code in it: another origin, on loopback in the namespace
  // (Chromium lets no public page frame a local address).
  const other = join(dir, 'embedder');
  mkdirSync(other);
  writeFileSync(join(other, 'index.html'), `<!DOCTYPE html><html><body>${code}</body></html>`);
  const embedder = spawn('ip', ['netns', 'exec', NS, 'python3', '-m', 'http.server', '8097', '--bind', '127.0.0.1', '--directory', other],
    { stdio: 'ignore' });
  try {
    await waitFor('the other site', async () => (await page.goto('http://127.0.0.1:8097/').catch(() => null))?.ok());
    const frames = page.locator('iframe[data-portico-embed]');
    assert.equal(await frames.count(), 2);
    for (const [i, chart] of [[0, 'routing'], [1, 'map']]) {
      await frames.nth(i).scrollIntoViewIfNeeded();
      const frame = await waitFor(`the ${chart} iframe`, async () => (await frames.nth(i).elementHandle()).contentFrame());
      await frame.waitForLoadState('load');
      await waitFor(`the ${chart} iframe to fit its page`, async () => {
        const inner = await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
        const outer = Number(await frames.nth(i).getAttribute('height'));
        return Math.abs(inner - outer) <= 1;
      });
      const wasm = () => frame.evaluate(() => performance.getEntriesByType('resource').some((e) => e.name.endsWith('.wasm')));
      if (chart === 'routing') await waitFor('the routing chart to hydrate', wasm);
      else assert.equal(await wasm(), false, 'the map embed loads no WASM');
    }
    await page.setViewportSize({ width: 660, height: 1400 });
    await page.evaluate(() => scrollTo(0, 0));
    await page.screenshot({ path: `${SHOTS}/communities-embedded.png` });
  } finally {
    embedder.kill();
  }
  await page.close();
});
