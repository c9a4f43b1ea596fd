import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import {
  adminClient,
  errorCode,
  randomBytesSeeded,
  RegistryClient,
  sha256,
  stalledRequest,
  waitFor,
  type StalledRequest,
} from '../support/registry.js';
import { createTestDatabase, startServer, tempDir, type TestServer } from '../support/server.js';
import { ok, registerAndLogin } from './identity-support.js';

type OciErrors = { errors: { code: string; message: string }[] };

/** A registered user with an API key, as a registry client. */
async function userClient(base: string, username: string): Promise<RegistryClient> {
  const u = await registerAndLogin(base, username);
  const key = await ok(base, 'POST', '/api-keys', {
    auth: { bearer: u.accessToken },
    body: { name: 'tests' },
  });
  return new RegistryClient(base, { 'x-api-key': key.key });
}

async function query<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query(sql, params)).rows as T[];
  } finally {
    await db.end();
  }
}

async function leasesHeld(url: string): Promise<number> {
  const [r] = await query<{ n: string }>(
    url,
    `SELECT count(*) AS n FROM uploads WHERE lease_token IS NOT NULL`,
  );
  return Number(r.n);
}

/** Opens a PATCH on a new upload of `repo` that sends one byte and then waits. */
async function stalledPatch(
  c: RegistryClient,
  repo: string,
): Promise<StalledRequest & { location: string }> {
  const { location } = await c.startUpload(repo);
  const s = await stalledRequest(c.base, 'PATCH', location, c.headers, Buffer.from('x'));
  return { ...s, location };
}

describe('slow and stalled uploads hold no database connection', () => {
  let server: TestServer;
  let mallory: RegistryClient;
  let bob: RegistryClient;
  const POOL = 4;

  beforeAll(async () => {
    server = await startServer({ env: { DATABASE_POOL_SIZE: String(POOL) } });
    mallory = await userClient(server.url, 'mallory');
    bob = await userClient(server.url, 'bob');
  });
  afterAll(async () => server?.stop());

  it(`with 2 × DATABASE_POOL_SIZE stalled uploads open, other users push, pull and sign in`, async () => {
    const stalled: (StalledRequest & { location: string })[] = [];
    for (let i = 0; i < 2 * POOL; i++) stalled.push(await stalledPatch(mallory, 'mallory/slow'));
    // Every stalled PATCH holds its upload's lease: the server is reading their bodies.
    await waitFor(
      'the stalled uploads to be leased',
      async () => (await leasesHeld(server.databaseUrl!)) === 2 * POOL,
    );

    const { digest } = await bob.pushImage('bob/app', 'v1', ['layer one', 'layer two']);
    const head = await bob.fetch('/v2/bob/app/manifests/v1', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    const blob = await bob.fetch(`/v2/bob/app/blobs/${sha256('layer one')}`);
    expect(await blob.text()).toBe('layer one');
    const tags = await bob.fetch('/v2/bob/app/tags/list');
    expect(await tags.json()).toEqual({ name: 'bob/app', tags: ['v1'] });
    await ok(server.url, 'POST', '/auth/login', {
      body: { username: 'bob', password: 'bob-password-1' },
      expect: 200,
    });
    await ok(server.url, 'GET', '/health', { expect: 200 });

    // Nothing waits inside a transaction for the slow bodies.
    const [idle] = await query<{ n: string }>(
      server.databaseUrl!,
      `SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(Number(idle.n)).toBe(0);

    for (const s of stalled) s.close();
    for (const s of stalled) expect(await s.result).toBe('failed');
    await waitFor(
      'the leases to be given back',
      async () => (await leasesHeld(server.databaseUrl!)) === 0,
    );
    // Nothing of the interrupted bodies was committed.
    for (const s of stalled) {
      const status = await mallory.fetch(s.location);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-0');
    }
  });

  it('a second PATCH of an upload that is being written is refused with 416; the first commits', async () => {
    const first = await stalledPatch(mallory, 'mallory/twice');
    await waitFor(
      'the first PATCH to hold the lease',
      async () => (await leasesHeld(server.databaseUrl!)) === 1,
    );
    const second = await mallory.fetch(first.location, { method: 'PATCH', body: 'other bytes' });
    expect(second.status).toBe(416);
    expect(await errorCode(second)).toBe('BLOB_UPLOAD_INVALID');
    expect(second.headers.get('range')).toBe('0-0');
    first.finish(Buffer.from('yz'));
    expect(await first.result).toBe(202);
    const done = await mallory.fetch(`${first.location}?digest=${sha256('xyz')}`, {
      method: 'PUT',
    });
    expect(done.status).toBe(201);
    expect(await (await mallory.fetch(`/v2/mallory/twice/blobs/${sha256('xyz')}`)).text()).toBe(
      'xyz',
    );
  });

  it('bytes of an interrupted PATCH never reach the blob, even when the resumed rest is shorter', async () => {
    const committed = randomBytesSeeded(100_000, 5);
    const { location } = await mallory.startUpload('mallory/resume');
    expect((await mallory.fetch(location, { method: 'PATCH', body: committed })).status).toBe(202);
    // 300,000 bytes of a chunk that is then abandoned: longer than what follows.
    const lost = await stalledRequest(
      server.url,
      'PATCH',
      location,
      mallory.headers,
      randomBytesSeeded(300_000, 6),
    );
    await waitFor(
      'the interrupted PATCH to hold the lease',
      async () => (await leasesHeld(server.databaseUrl!)) === 1,
    );
    lost.close();
    await waitFor(
      'its lease to be given back',
      async () => (await leasesHeld(server.databaseUrl!)) === 0,
    );
    const status = await mallory.fetch(location);
    expect(status.headers.get('range')).toBe('0-99999');
    const rest = Buffer.from('a short end');
    const patched = await mallory.fetch(location, {
      method: 'PATCH',
      body: rest,
      headers: { 'Content-Range': `100000-${100_000 + rest.length - 1}` },
    });
    expect(patched.status).toBe(202);
    const whole = Buffer.concat([committed, rest]);
    const done = await mallory.fetch(`${location}?digest=${sha256(whole)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    const pulled = Buffer.from(
      await (await mallory.fetch(`/v2/mallory/resume/blobs/${sha256(whole)}`)).arrayBuffer(),
    );
    expect(pulled.equals(whole)).toBe(true);
  });
});

describe('a stalled upload body is cut after HTTP_IDLE_TIMEOUT_SECONDS', () => {
  it('the connection is closed, nothing is committed and the upload can go on', async () => {
    const server = await startServer({ env: { HTTP_IDLE_TIMEOUT_SECONDS: '1' } });
    try {
      const c = await adminClient(server.url);
      const s = await stalledPatch(c, 'idle/upload');
      expect(await s.result).toBe('failed');
      // The node gives the lease back as soon as it has dropped the body.
      await waitFor(
        'the lease to be given back',
        async () => (await leasesHeld(server.databaseUrl!)) === 0,
      );
      const status = await c.fetch(s.location);
      expect(status.headers.get('range')).toBe('0-0');
      const again = await c.fetch(s.location, { method: 'PATCH', body: 'all of it' });
      expect(again.status).toBe(202);
      expect(again.headers.get('range')).toBe('0-8');
    } finally {
      await server.stop();
    }
  });
});

describe('a kept-alive connection between requests', () => {
  /** Sends `GET /v2/` on `socket` and resolves with the status line of the answer. */
  function get(socket: Socket): Promise<string> {
    return new Promise((resolve, reject) => {
      let got = '';
      const onData = (d: Buffer) => {
        got += d.toString('latin1');
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(got.slice(0, end))?.[1] ?? 0);
        if (got.length < end + 4 + length) return;
        socket.off('data', onData);
        resolve(got.slice(0, got.indexOf('\r\n')));
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write('GET /v2/ HTTP/1.1\r\nHost: registry\r\nConnection: keep-alive\r\n\r\n');
    });
  }

  it("stays open for HTTP_IDLE_TIMEOUT_SECONDS, not Node's 5 s (a client backing off reuses it)", async () => {
    const server = await startServer();
    const socket = connect(server.port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      let closed = false;
      socket.once('close', () => (closed = true));
      expect(await get(socket)).toMatch(/^HTTP\/1\.1 401/);
      // Longer than Node's default keep-alive timeout (5 s, plus its 1 s margin): what is tested
      // here is a duration, so this wait is the test, not a guess at how long something takes.
      await new Promise((r) => setTimeout(r, 6_500));
      expect(closed).toBe(false);
      expect(await get(socket)).toMatch(/^HTTP\/1\.1 401/);
    } finally {
      socket.destroy();
      await server.stop();
    }
  });

  it('is closed once idle for HTTP_IDLE_TIMEOUT_SECONDS', async () => {
    const server = await startServer({ env: { HTTP_IDLE_TIMEOUT_SECONDS: '1' } });
    const socket = connect(server.port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      expect(await get(socket)).toMatch(/^HTTP\/1\.1 401/);
      await once(socket, 'close');
    } finally {
      socket.destroy();
      await server.stop();
    }
  });
});

describe('concurrent uploads are bounded per user and per node', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      env: { UPLOAD_MAX_CONCURRENT_PER_USER: '2', UPLOAD_MAX_CONCURRENT: '3' },
    });
  });
  afterAll(async () => server?.stop());

  it('past the bound a PATCH gets 429 TOOMANYREQUESTS with Retry-After; others are unaffected', async () => {
    const mallory = await userClient(server.url, 'mallory');
    const bob = await userClient(server.url, 'bob');
    const held = [
      await stalledPatch(mallory, 'mallory/a'),
      await stalledPatch(mallory, 'mallory/a'),
    ];
    await waitFor('two leases', async () => (await leasesHeld(server.databaseUrl!)) === 2);
    const { location } = await mallory.startUpload('mallory/a');
    const refused = await mallory.fetch(location, { method: 'PATCH', body: 'more' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await errorCode(refused)).toBe('TOOMANYREQUESTS');

    // Another user still uploads, up to the node's bound.
    const bobs = await stalledPatch(bob, 'bob/a');
    await waitFor('three leases', async () => (await leasesHeld(server.databaseUrl!)) === 3);
    const { location: bobLoc } = await bob.startUpload('bob/a');
    const nodeFull = await bob.fetch(bobLoc, { method: 'PATCH', body: 'more' });
    expect(nodeFull.status).toBe(429);
    expect(((await nodeFull.json()) as OciErrors).errors[0].message).toMatch(/node/);

    for (const s of [...held, bobs]) s.close();
    await waitFor(
      'the leases to be given back',
      async () => (await leasesHeld(server.databaseUrl!)) === 0,
    );
    expect((await mallory.fetch(location, { method: 'PATCH', body: 'more' })).status).toBe(202);
  });
});

describe('open upload sessions are bounded per user and per repository', () => {
  it('the next POST gets 429 until a session ends', async () => {
    const server = await startServer({
      env: { UPLOAD_MAX_SESSIONS_PER_USER: '3', UPLOAD_MAX_SESSIONS_PER_REPOSITORY: '5' },
    });
    try {
      const mallory = await userClient(server.url, 'mallory');
      const admin = await adminClient(server.url);
      const mine = [];
      for (let i = 0; i < 3; i++) mine.push((await mallory.startUpload('mallory/app')).location);
      const fourth = await mallory.fetch('/v2/mallory/other/blobs/uploads/', { method: 'POST' });
      expect(fourth.status).toBe(429);
      expect(fourth.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await errorCode(fourth)).toBe('TOOMANYREQUESTS');
      expect((await mallory.fetch(mine[0], { method: 'DELETE' })).status).toBe(204);
      expect(
        (await mallory.fetch('/v2/mallory/app/blobs/uploads/', { method: 'POST' })).status,
      ).toBe(202);

      // The repository's bound counts everybody's sessions.
      await admin.startUpload('mallory/app');
      await admin.startUpload('mallory/app');
      const full = await admin.fetch('/v2/mallory/app/blobs/uploads/', { method: 'POST' });
      expect(full.status).toBe(429);
      expect(((await full.json()) as OciErrors).errors[0].message).toMatch(/repository/);
      expect(
        (await admin.fetch('/v2/elsewhere/app/blobs/uploads/', { method: 'POST' })).status,
      ).toBe(202);
    } finally {
      await server.stop();
    }
  });
});

describe('deleting a repository removes its upload sessions and their bytes', () => {
  it('rows and files go with the repository', async () => {
    const server = await startServer();
    try {
      const c = await adminClient(server.url);
      const { location } = await c.startUpload('doomed/repo');
      expect((await c.fetch(location, { method: 'PATCH', body: 'some bytes' })).status).toBe(202);
      const id = location.split('/').pop()!;
      const uploads = join(server.dataDir, 'storage', 'uploads');
      const files = () => readdirSync(uploads).filter((f) => f.startsWith(id));
      expect(files().length).toBeGreaterThan(0);
      const res = await fetch(`${server.url}/api/v1/repos/doomed/repo`, {
        method: 'DELETE',
        headers: c.headers,
      });
      expect(res.status).toBe(204);
      await waitFor('the upload files to be removed', () => files().length === 0);
      const rows = await query(server.databaseUrl!, `SELECT id FROM uploads WHERE id = $1`, [id]);
      expect(rows).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

describe('a node that dies between publishing a blob and recording it', () => {
  let databaseUrl: string;
  let dataDir: string;
  let b: TestServer;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    dataDir = tempDir();
    b = await startServer({ databaseUrl, dataDir });
  });
  afterAll(async () => b?.stop());

  it('leaves an upload that the next PUT completes (on any node)', async () => {
    const a = await startServer({
      databaseUrl,
      dataDir,
      env: { AERUGO_CRASH_AT: 'upload.published' },
    });
    const key = (await adminClient(b.url)).headers['x-api-key'];
    const ca = new RegistryClient(a.url, { 'x-api-key': key });
    const cb = new RegistryClient(b.url, { 'x-api-key': key });
    const data = randomBytesSeeded(200_000, 9);
    const { location } = await ca.startUpload('crash/publish');
    expect((await ca.fetch(location, { method: 'PATCH', body: data })).status).toBe(202);
    const put = await ca
      .fetch(`${location}?digest=${sha256(data)}`, { method: 'PUT' })
      .catch(() => 'failed');
    expect(put).toBe('failed');
    await a.stop();
    // The bytes are at their content address, the upload session is still there.
    const path = join(
      dataDir,
      'storage',
      'blobs',
      'sha256',
      sha256(data).slice(7, 9),
      sha256(data).slice(7),
    );
    expect(existsSync(path)).toBe(true);
    expect((await cb.fetch(location)).status).toBe(204);

    const done = await cb.fetch(`${location}?digest=${sha256(data)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    const pulled = Buffer.from(
      await (await cb.fetch(`/v2/crash/publish/blobs/${sha256(data)}`)).arrayBuffer(),
    );
    expect(pulled.equals(data)).toBe(true);
    expect((await cb.fetch(location)).status).toBe(404);
  });
});
