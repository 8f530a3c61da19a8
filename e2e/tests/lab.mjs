// A lab of the e2e suite's own: `portico lab up --suffix …`, Portico serving in its router
// namespace, and a Chromium wrapper that runs inside its client namespace (design.md, rule 3).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const BIN = process.env.PORTICO_BIN ?? resolve('../target/debug/portico');
export const SHOTS = resolve('../target/e2e');
export const ROUTER = 'http://192.168.1.1';

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => ok(p)); });
});

export async function waitFor(what, probe, deadlineMs = 60_000) {
  const start = Date.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() - start > deadlineMs) throw new Error(`timed out waiting for ${what}`);
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
    adminForward: `http://127.0.0.1:${admin}`,
    async stop() {
      await browser.close().catch(() => {});
      server.kill('SIGTERM');
      execFileSync(BIN, ['lab', 'down', ...labArgs], { stdio: 'inherit' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
