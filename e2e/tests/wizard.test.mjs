// The setup wizard in a real Chromium inside the lab's client namespace, every path at desktop
// and phone size (a fresh lab per size, so each starts at first boot): language switch, inline
// errors from the browser's own checks, the password meter, Detect (DHCP from the isp's dnsmasq,
// PPPoE from a PADI responder), static internet, Wi-Fi with and without mesh, WireGuard with a
// peer, back and change an answer, resume after reload, the summary with its diff and Wi-Fi QR,
// Apply with the connection test, and a LAN move confirmed at the new address.
// Screenshots go to target/e2e/wizard-<size>-<step>.png.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab, waitFor, ROUTER, SHOTS, PASSWORD, sizes, a11y, waitForWizardHydration, BIN, firstBoot, assertIslandsHydrate } from './lab.mjs';

const checkA11y = a11y('wizard');

async function shot(page, size, name) {
  await page.screenshot({ path: `${SHOTS}/wizard-${size}-${name}.png`, fullPage: true });
}

const next = (page) => page.getByRole('button', { name: /^(Next|Weiter)$/ }).click();

async function login(page) {
  await page.goto(`${ROUTER}/login`);
  await page.fill('#password', PASSWORD);
  await page.locator('form.card button[type=submit]').click();
  await page.waitForURL(`${ROUTER}/`);
}

/** Apply from the summary; wait for the connection test when one runs; keep or revert. */
async function applyAndFinish(page, size, name, { keep = true, test: expectTest = false } = {}) {
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.waitForURL(/\/setup\/applied$/);
  if (expectTest) {
    await page.getByRole('heading', { name: 'Connection test' }).waitFor();
    // The page refreshes itself until every check has run; then the buttons appear.
    await page.getByRole('button', { name: 'Keep the change' }).waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('checks').locator('li').count(), 3);
  }
  await checkA11y(page, `wizard applied ${name} (${size})`);
  await shot(page, size, `${name}-applied`);
  if (keep) {
    await page.getByRole('button', { name: 'Keep the change' }).click();
    await page.waitForURL(`${ROUTER}/`);
  } else {
    // Reverting stays on the page, which then says it was reverted on request.
    await page.getByRole('button', { name: 'Revert now' }).click();
    await page.getByText('Reverted as you asked').waitFor();
  }
}

/**
 * The same answers through `portico wizard apply` on a fresh router give the same UCI files as
 * the browser gave (key values aside: each run makes its own WireGuard keys).
 */
function assertSameUciAsCli(routerRoot, answers) {
  const dir = mkdtempSync(join(tmpdir(), 'portico-cli-'));
  try {
    const file = join(dir, 'answers.json');
    writeFileSync(file, JSON.stringify(answers));
    execFileSync(BIN, ['--root', join(dir, 'root'), 'wizard', 'apply', '--answers', file, '--unchecked'],
      { stdio: ['ignore', 'ignore', 'inherit'] });
    const mask = (text) => text.replace(/(option (private_key|public_key) )'[^']*'/g, "$1'<key>'");
    for (const name of ['system', 'network', 'wireless', 'dhcp', 'firewall']) {
      const read = (root) => mask(readFileSync(join(root, 'etc/config', name), 'utf8'));
      assert.equal(read(join(dir, 'root')), read(routerRoot), `/etc/config/${name}: CLI and browser differ`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const [size, viewport] of Object.entries(sizes)) {
  describe(`wizard (${size})`, () => {
    let lab;
    before(async () => { lab = await startLab(); });
    after(async () => { await lab?.stop(); });

    test(`first boot: every step, mesh and WireGuard, language switch, back, reload (${size})`, async () => {
      const context = await lab.browser.newContext({ viewport, locale: 'en-US', timezoneId: 'Europe/Berlin' });
      const page = await context.newPage();
      await page.goto(`${ROUTER}/`);
      await page.waitForURL(/\/setup\/language$/);
      await checkA11y(page, `wizard language (${size})`);
      await shot(page, size, 'language');
      // German for the next pages.
      await page.getByLabel('Deutsch').check();
      await next(page);
      await page.waitForURL(/\/setup\/system$/);
      await page.getByRole('heading', { name: 'Name und Passwort' }).waitFor();
      assert.equal(await page.locator('html').getAttribute('lang'), 'de');

      // The browser's own checks: an inline error once the field is left, in German.
      await waitForWizardHydration(page);
      assert.equal(await page.locator('#f-system-zonename').inputValue(), 'Europe/Berlin',
        'the time zone comes from the browser');
      await page.fill('#f-system-hostname', '-bad-');
      await page.locator('#f-system-hostname').press('Tab');
      await waitFor('inline hostname error', async () =>
        /Buchstaben, Ziffern oder Bindestriche/.test(await page.locator('#f-system-hostname-error').innerText()));
      await page.fill('#f-system-hostname', 'gartenhaus');
      await page.locator('#f-system-hostname').press('Tab');
      await waitFor('error gone', async () => (await page.locator('#f-system-hostname-error').innerText()) === '');
      // A weak password: the meter says so, the server refuses it too.
      await page.fill('#f-password', 'Password123!');
      await waitFor('weak meter', async () => /schwach/i.test(await page.getByTestId('strength').innerText()));
      await page.fill('#f-password_repeat', 'Password123!');
      await next(page);
      await page.waitForURL(/\/setup\/system$/);
      await page.getByText('Dieses Passwort ist zu leicht zu erraten.').waitFor();
      await waitForWizardHydration(page);
      await page.fill('#f-password', PASSWORD);
      await waitFor('strong meter', async () => /stark/i.test(await page.getByTestId('strength').innerText()));
      await page.fill('#f-password_repeat', PASSWORD);
      await checkA11y(page, `wizard system (${size})`);
      await shot(page, size, 'system');
      // Back to the language: English again.
      await page.getByRole('button', { name: 'Zurück' }).click();
      await page.waitForURL(/\/setup\/language$/);
      await page.getByLabel('English').check();
      await next(page);
      await page.waitForURL(/\/setup\/system$/);
      await page.getByRole('heading', { name: 'Name and password' }).waitFor();
      assert.equal(await page.locator('#f-system-hostname').inputValue(), 'gartenhaus', 'answers survive going back');
      await next(page);

      // Internet: Detect finds the isp's DHCP server and pre-selects DHCP.
      await page.waitForURL(/\/setup\/internet$/);
      await page.getByRole('button', { name: 'Detect' }).click();
      await page.waitForURL(/\/setup\/internet$/);
      await waitFor('detect result', async () => /DHCP: the server 100\.64\.0\.1 offered/.test(await page.getByTestId('detect').innerText()));
      assert.ok(await page.locator('#f-internet-type-dhcp').isChecked());
      await checkA11y(page, `wizard internet (${size})`);
      await shot(page, size, 'internet');
      await next(page);

      // Wi-Fi on the first radio only (not the same network on every band), and a mesh.
      await page.waitForURL(/\/setup\/wifi$/);
      assert.ok(await page.locator('#f-wifi-same').isChecked(), 'one network on every band by default');
      await page.locator('#f-wifi-same').uncheck();
      await page.locator('#f-wifi-radio0-enabled').check();
      await page.fill('#f-wifi-radio0-ssid', 'Gartenhaus');
      await page.fill('#f-wifi-radio0-key', 'short');
      await page.locator('#f-wifi-radio0-key').press('Tab');
      await waitFor('inline key error', async () => /8 to 63/.test(await page.locator('#f-wifi-radio0-key-error').innerText()));
      await page.fill('#f-wifi-radio0-key', 'kiwi-kiwi-kiwi');
      await page.locator('#f-mesh-enabled').check();
      await page.fill('#f-mesh-mesh_id', 'ff-mesh');
      await page.fill('#f-mesh-key', 'mesh-mesh-mesh');
      await checkA11y(page, `wizard wifi (${size})`);
      await shot(page, size, 'wifi');
      await next(page);

      // A reload resumes on the same step with the answers so far.
      await page.waitForURL(/\/setup\/services$/);
      await page.reload();
      await page.getByRole('heading', { name: 'Network and VPN' }).waitFor();
      await page.locator('#f-wireguard-enabled').check();
      await page.fill('#f-wireguard-endpoint', 'gartenhaus.example.org');
      await page.fill('#f-wireguard-peers', 'phone');
      // The community mesh: the name field shows once chosen; a name the browser's check
      // refuses, then a good one.
      assert.equal(await page.locator('#f-community-name').isVisible(), false);
      await page.getByLabel('Create a community (the first router)').check();
      await page.fill('#f-community-name', 'Kiez Mitte');
      await page.locator('#f-community-name').press('Tab');
      await waitFor('inline community name error', async () =>
        /1 to 64 letters/.test(await page.locator('#f-community-name-error').innerText()));
      await page.fill('#f-community-name', 'ff-kiez');
      await page.locator('#f-community-name').press('Tab');
      await waitFor('community error gone', async () => (await page.locator('#f-community-name-error').innerText()) === '');
      await checkA11y(page, `wizard services (${size})`);
      await shot(page, size, 'services');
      await next(page);

      // The summary: plain words, the exact diff, the Wi-Fi QR code.
      await page.waitForURL(/\/setup\/summary$/);
      await page.getByText('Wi-Fi on radio0: network “Gartenhaus”').waitFor();
      await page.getByText('Mesh “ff-mesh”').waitFor();
      await page.getByText('WireGuard server on port 51820').waitFor();
      await page.getByText('Create the community ff-kiez and share vouchers in it.').waitFor();
      await page.getByRole('img', { name: 'QR code to join the Wi-Fi network Gartenhaus' }).waitFor();
      await page.locator('details.diff summary').click();
      if (await page.getByTestId('diff').count() === 0) assert.fail(await page.locator('main').innerText());
      const diff = await page.getByTestId('diff').innerText();
      for (const line of ["+\toption hostname 'gartenhaus'", "+\toption mode 'mesh'", "+\toption mesh_id 'ff-mesh'", "option proto 'wireguard'"]) {
        assert.ok(diff.includes(line), `${line} in\n${diff}`);
      }
      // Change an answer on the way: back to Wi-Fi, another name.
      await page.locator('ul.summary li', { hasText: 'Wi-Fi on radio0' }).getByRole('link', { name: 'Change' }).click();
      await page.waitForURL(/\/setup\/wifi$/);
      await page.fill('#f-wifi-radio0-ssid', 'Gartenhaus-2');
      await next(page);
      await page.goto(`${ROUTER}/setup/summary`);
      await page.getByText('Wi-Fi on radio0: network “Gartenhaus-2”').waitFor();
      await checkA11y(page, `wizard summary (${size})`);
      await shot(page, size, 'summary');

      // Apply: the internet answer is set, so the connection test runs first.
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL(/\/setup\/applied$/);
      await page.getByRole('button', { name: 'Keep the change' }).waitFor({ timeout: 60_000 });
      const checks = await page.getByTestId('checks').innerText();
      assert.match(checks, /Gateway answers: 100\.64\.0\.1/);
      assert.match(checks, /Test address answers: .*HTTP 204/);
      await page.getByText('The internet connection works.').waitFor();
      await page.getByTestId('community-applied').getByText('This router shares its vouchers with the community ff-kiez.').waitFor();
      await page.getByRole('img', { name: 'QR code of the WireGuard configuration for phone' }).waitFor();
      assert.match(await page.locator('figure.client pre').innerText(), /\[Interface\]\nPrivateKey = /);
      await checkA11y(page, `wizard applied (${size})`);
      await shot(page, size, 'applied');
      await page.getByRole('button', { name: 'Keep the change' }).click();
      await page.waitForURL(`${ROUTER}/`);
      // The overview's last connection test is the one that ran at Apply.
      await page.getByTestId('conntest').getByText('The last connection test passed.').waitFor();
      assert.equal(JSON.parse(lab.cli('mesh', 'status', '--json')).community, 'ff-kiez');
      assert.match(await page.locator('section[aria-labelledby=home-internet] ul.checks').innerText(), /Gateway answers: 100\.64\.0\.1/);
      await context.close();

      assertSameUciAsCli(lab.root, {
        language: 'en',
        system: { hostname: 'gartenhaus', zonename: 'Europe/Berlin', country: 'US' },
        password: PASSWORD,
        internet: { type: 'dhcp' },
        lan: { ipaddr: '192.168.1.1', netmask: '24' },
        wifi: [{ radio: 'radio0', ssid: 'Gartenhaus-2', key: 'kiwi-kiwi-kiwi', encryption: 'sae' }],
        mesh: { radio: 'radio0', mesh_id: 'ff-mesh', key: 'mesh-mesh-mesh' },
        dhcp: { enabled: true },
        wireguard: { address: '10.99.0.1/24', endpoint: 'gartenhaus.example.org', peers: [{ name: 'phone' }] },
        community: { action: 'create', name: 'ff-kiez' },
      });
    });

    test(`PPPoE detected and answered, then static internet applied and reverted (${size})`, async () => {
      const context = await lab.browser.newContext({ viewport, locale: 'en-US' });
      const page = await context.newPage();
      await login(page);
      await page.goto(`${ROUTER}/setup/internet`);
      // An access concentrator on the isp side: Detect prefers PPPoE.
      const ac = spawn(BIN, ['lab', 'exec', '--suffix', lab.suffix, 'isp', '--', BIN, 'lab', 'pppoe-ac', '--device', 'wan0', '--name', 'e2e-bras'],
        { stdio: 'ignore' });
      try {
        // Issue 20: while Detect works the old result goes and the page says so (once the page's
        // islands are hydrated: the shell's menu may fold before the detect island is live).
        // The post is held back a moment so the wait can be seen.
        await assertIslandsHydrate(page, 'wizard internet');
        await page.route('**/setup/internet', (route) => setTimeout(() => route.continue().catch(() => {}), 1500));
        // Clicked and read from the page itself: Playwright's locators wait for the form's
        // navigation to finish, when the page is the next one already.
        const [working, text] = await page.evaluate(async () => {
          document.querySelector('button[value=detect]').click();
          await new Promise((r) => setTimeout(r, 300));
          const status = document.querySelector('[data-testid=detect]');
          return [status.dataset.working, status.textContent];
        });
        assert.equal(working, '1');
        assert.match(text, /^Detecting/, 'the old result is gone while it works');
        await page.unroute('**/setup/internet');
        await waitFor('pppoe detected', async () => /PPPoE: the access concentrator e2e-bras answered/.test(await page.getByTestId('detect').innerText()));
        assert.ok(await page.locator('#f-internet-type-pppoe').isChecked());
        await page.locator('#f-internet-username').waitFor({ state: 'visible' });
      } finally {
        ac.kill('SIGTERM');
      }
      // PPPoE needs its credentials (the browser says so once the field is left).
      await page.locator('#f-internet-username').focus();
      await page.locator('#f-internet-username').press('Tab');
      await waitFor('inline error naming the field', async () => /PPPoE user name/.test(await page.locator('#f-internet-username-error').innerText()));
      await page.fill('#f-internet-username', 'kunde@isp.example');
      await page.fill('#f-internet-password', 'dsl-secret-1');
      await checkA11y(page, `wizard internet pppoe (${size})`);
      await shot(page, size, 'pppoe');
      await next(page);
      await page.waitForURL(/\/setup\/wifi$/);
      await page.goto(`${ROUTER}/setup/summary`);
      await page.getByText('Internet: PPPoE as kunde@isp.example.').waitFor();
      await page.locator('details.diff summary').click();
      const diff = await page.getByTestId('diff').innerText();
      for (const line of ["+\toption proto 'pppoe'", "+\toption username 'kunde@isp.example'", "+\toption mtu '1492'"]) {
        assert.ok(diff.includes(line), `${line} in\n${diff}`);
      }
      // Back to the internet step and another answer: static.
      await page.locator('ul.summary li', { hasText: 'Internet:' }).getByRole('link', { name: 'Change' }).click();
      await page.waitForURL(/\/setup\/internet$/);
      assert.ok(await page.locator('#f-internet-type-pppoe').isChecked(), 'the PPPoE answer is kept');
      // Static: the gateway must lie inside the subnet (the browser says so at once).
      await page.locator('#f-internet-type-static').check();
      await page.fill('#f-internet-ipaddr', '100.64.0.9');
      await page.fill('#f-internet-netmask', '24');
      await page.fill('#f-internet-gateway', '100.64.9.1');
      await page.locator('#f-internet-gateway').press('Tab');
      await waitFor('inline gateway error', async () => /inside the internet subnet/.test(await page.locator('#f-internet-gateway-error').innerText()));
      await page.fill('#f-internet-gateway', '100.64.0.1');
      await page.fill('#f-internet-dns', '100.64.0.1');
      await next(page);
      await page.waitForURL(/\/setup\/wifi$/);
      await page.getByRole('button', { name: 'Skip this step' }).click();
      await page.getByRole('button', { name: 'Skip this step' }).click();
      await page.waitForURL(/\/setup\/summary$/);
      await page.getByText('Internet: fixed address 100.64.0.9/24, gateway 100.64.0.1.').waitFor();
      await applyAndFinish(page, size, 'static', { test: true, keep: false });
      await context.close();
    });

    test(`without JavaScript: the type's fields still switch and the server refuses in the chosen language (${size})`, async () => {
      const context = await lab.browser.newContext({ viewport, locale: 'fr-FR', javaScriptEnabled: false });
      const page = await context.newPage();
      await login(page);
      await page.goto(`${ROUTER}/setup/language`);
      await page.getByLabel('Français').check();
      await page.getByRole('button', { name: 'Suivant' }).click();
      await page.waitForURL(/\/setup\/system$/);
      await page.goto(`${ROUTER}/setup/internet`);
      assert.ok(!(await page.locator('#f-internet-gateway').isVisible()), 'static fields hidden for DHCP');
      await page.locator('#f-internet-type-static').check();
      await page.locator('#f-internet-gateway').waitFor({ state: 'visible' });
      await page.fill('#f-internet-ipaddr', '192.168.1.50');
      await page.fill('#f-internet-netmask', '255.255.255.0');
      await page.fill('#f-internet-gateway', '192.168.1.254');
      await page.getByRole('button', { name: 'Suivant' }).click();
      await page.waitForURL(/\/setup\/internet$/);
      await page.getByText('Le sous-réseau internet chevauche le réseau local').waitFor();
      assert.equal(await page.locator('#f-internet-ipaddr').inputValue(), '192.168.1.50', 'the refused value is shown again');
      // (No axe here: it needs JavaScript in the page; the same page is checked with it above.)
      await shot(page, size, 'nojs-internet-fr');
      await context.close();
    });

    test(`moving the LAN: confirmed at the new address (${size})`, async () => {
      const context = await lab.browser.newContext({ viewport, locale: 'en-US' });
      const page = await context.newPage();
      await login(page);
      await page.goto(`${ROUTER}/setup/services`);
      await page.fill('#f-lan-ipaddr', '192.168.7.1');
      await next(page);
      await page.waitForURL(/\/setup\/summary$/);
      await page.getByRole('button', { name: 'Apply' }).click();
      // The browser is sent to the new address and confirms there with the apply token.
      await page.waitForURL(/^http:\/\/192\.168\.7\.1\/confirm/, { timeout: 30_000 });
      await page.getByRole('heading', { name: 'Confirm the new settings' }).waitFor();
      await checkA11y(page, `confirm at the new address (${size})`);
      await shot(page, size, 'confirm');
      await waitFor('the token from the fragment', async () => (await page.locator('input[name=token]').inputValue()).length > 10);
      await page.getByRole('button', { name: 'Keep the change' }).click();
      await page.waitForURL(/^http:\/\/192\.168\.7\.1\/login/);
      await context.close();
    });
  });
}

// Issue 20 rough edge: reverting the first boot's change also forgets the admin password it
// set: the router is at first boot again, for any browser, and that password logs in nowhere.
test('reverting the first boot reverts its password too (phone size)', async () => {
  const lab = await startLab();
  try {
    const context = await lab.browser.newContext({ viewport: sizes.phone, locale: 'en-US' });
    await firstBoot(await context.newPage(), checkA11y, 'phone', { keep: false });
    await context.close();
    const other = await lab.browser.newContext({ viewport: sizes.phone, locale: 'en-US' });
    const page = await other.newPage();
    await page.goto(`${ROUTER}/`);
    assert.match(page.url(), /\/setup\/language$/, 'first boot again');
    await page.goto(`${ROUTER}/settings`);
    assert.match(page.url(), /\/setup\/language$/, 'no admin page before a password is set');
    await other.close();
  } finally {
    await lab.stop();
  }
});
