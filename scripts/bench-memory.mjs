#!/usr/bin/env node
// Pushes and pulls one large blob through a fresh Aerugo node and reports the node's peak RSS.
// Usage: npm run build && node scripts/bench-memory.mjs [sizeMiB=1024]
// Uses DATABASE_URL when set, else the node's embedded PostgreSQL. Pushes as the node's system
// administrator (`bench`) with a bearer token from its token service. Prints figures; asserts
// nothing.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authHeaders, freePort, tokenFor, waitFor } from './bench-clients.mjs';

const sizeMiB = Number(process.argv[2] ?? 1024);
const total = sizeMiB * 1024 * 1024;
const root = new URL('..', import.meta.url).pathname;

const port = await freePort();
const password = randomBytes(12).toString('hex');
const dataDir = mkdtempSync(join(tmpdir(), 'aerugo-bench-'));
chmodSync(dataDir, 0o755);
const env = {
  ...process.env,
  LISTEN_ADDRESS: `127.0.0.1:${port}`,
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  ADMIN_USERNAME: 'bench',
  ADMIN_PASSWORD: password,
};
const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], { env, stdio: 'inherit' });
const base = `http://127.0.0.1:${port}`;

const peakRss = () => {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024;
};

try {
  await waitFor(`${base}/api/v1/health/ready`, 180, (res) => res.ok);
  console.log(JSON.stringify(await measure(), null, 2));
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}

async function measure() {
  const auth = authHeaders(
    await tokenFor({ name: 'Aerugo', base, user: 'bench', password }, 'repository:bench:pull,push'),
  );
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
  const start = await fetch(`${base}/v2/bench/blobs/uploads/`, { method: 'POST', headers: auth });
  if (start.status !== 202) throw new Error(`POST ${start.status}: ${await start.text()}`);
  const location = start.headers.get('location');
  const patch = await fetch(`${base}${location}`, {
    method: 'PATCH',
    headers: auth,
    body,
    duplex: 'half',
  });
  if (patch.status !== 202) throw new Error(`PATCH ${patch.status}`);
  const digest = `sha256:${hash.digest('hex')}`;
  const put = await fetch(`${base}${location}?digest=${digest}`, { method: 'PUT', headers: auth });
  if (put.status !== 201) throw new Error(`PUT ${put.status}: ${await put.text()}`);
  const pushSeconds = (Date.now() - t0) / 1000;
  const rssAfterPush = peakRss();

  const t1 = Date.now();
  const get = await fetch(`${base}/v2/bench/blobs/${digest}`, { headers: auth });
  const pullHash = createHash('sha256');
  for await (const c of get.body) pullHash.update(c);
  const pullSeconds = (Date.now() - t1) / 1000;

  return {
    sizeMiB,
    digestVerified: `sha256:${pullHash.digest('hex')}` === digest,
    pushSeconds,
    pushMiBps: Math.round(sizeMiB / pushSeconds),
    pullSeconds,
    pullMiBps: Math.round(sizeMiB / pullSeconds),
    serverPeakRssMiB: {
      atStart: Math.round(rssAtStart),
      afterPush: Math.round(rssAfterPush),
      afterPull: Math.round(peakRss()),
    },
  };
}
