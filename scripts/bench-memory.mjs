#!/usr/bin/env node
// Pushes and pulls one large blob through a fresh Aerugo node and reports the node's peak RSS.
// Usage: npm run build && node scripts/bench-memory.mjs [sizeMiB=1024]
// Uses DATABASE_URL when set, else the node's embedded PostgreSQL. Prints figures; asserts nothing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sizeMiB = Number(process.argv[2] ?? 1024);
const total = sizeMiB * 1024 * 1024;
const root = new URL('..', import.meta.url).pathname;

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dataDir = mkdtempSync(join(tmpdir(), 'aerugo-bench-'));
chmodSync(dataDir, 0o755);
const env = {
  ...process.env,
  LISTEN_ADDRESS: `127.0.0.1:${port}`,
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  ADMIN_USERNAME: 'bench',
  ADMIN_PASSWORD: 'bench-memory-password',
};
const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], { env, stdio: 'inherit' });
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    await fetch(`${base}/v2/`);
    break;
  } catch {
    if (i > 1800) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Anonymous callers may not push: a bearer token for the repository, from the token endpoint.
const basic = Buffer.from(`${env.ADMIN_USERNAME}:${env.ADMIN_PASSWORD}`).toString('base64');
const tokenRes = await fetch(
  `${base}/auth/token?service=aerugo&scope=${encodeURIComponent('repository:bench/blob:pull,push')}`,
  { headers: { authorization: `Basic ${basic}` } },
);
if (!tokenRes.ok) throw new Error(`token endpoint answered ${tokenRes.status}`);
const auth = { authorization: `Bearer ${(await tokenRes.json()).token}` };

const peakRss = () => {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
};
const rssAtStart = peakRss();

// Deterministic pseudo-random chunks, generated on the fly: the client never holds the blob either.
const chunk = Buffer.alloc(1024 * 1024);
const hash = createHash('sha256');
const body = new ReadableStream({
  sent: 0,
  pull(ctrl) {
    if (this.sent >= total) return ctrl.close();
    for (let i = 0; i < chunk.length; i += 4)
      chunk.writeUInt32LE(((this.sent + i) * 2654435761) >>> 0, i);
    hash.update(chunk);
    this.sent += chunk.length;
    ctrl.enqueue(new Uint8Array(chunk));
  },
});
const t0 = Date.now();
const start = await fetch(`${base}/v2/bench/blob/blobs/uploads/`, {
  method: 'POST',
  headers: auth,
});
if (start.status !== 202) throw new Error(`POST ${start.status}`);
const location = start.headers.get('location');
const patch = await fetch(new URL(location, base), {
  method: 'PATCH',
  headers: auth,
  body,
  duplex: 'half',
});
if (patch.status !== 202) throw new Error(`PATCH ${patch.status}`);
const digest = `sha256:${hash.digest('hex')}`;
const putUrl = new URL(patch.headers.get('location') ?? location, base);
putUrl.searchParams.set('digest', digest);
const put = await fetch(putUrl, { method: 'PUT', headers: auth });
if (put.status !== 201) throw new Error(`PUT ${put.status}: ${await put.text()}`);
const pushSeconds = (Date.now() - t0) / 1000;
const rssAfterPush = peakRss();

const t1 = Date.now();
const get = await fetch(`${base}/v2/bench/blob/blobs/${digest}`, { headers: auth });
const pullHash = createHash('sha256');
for await (const c of get.body) pullHash.update(c);
const pullSeconds = (Date.now() - t1) / 1000;
const ok = `sha256:${pullHash.digest('hex')}` === digest;

console.log(
  JSON.stringify(
    {
      sizeMiB,
      digestVerified: ok,
      pushSeconds,
      pushMiBps: Math.round(sizeMiB / pushSeconds),
      pullSeconds,
      pullMiBps: Math.round(sizeMiB / pullSeconds),
      serverPeakRssMiB: {
        atStart: Math.round(rssAtStart),
        afterPush: Math.round(rssAfterPush),
        afterPull: Math.round(peakRss()),
      },
    },
    null,
    2,
  ),
);
child.kill('SIGTERM');
