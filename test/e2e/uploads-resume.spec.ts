import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { adminClient, randomBytesSeeded, sha256, killDuringPatch } from '../support/registry.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, startServer, tempDir, type TestServer } from '../support/server.js';

/** Upload state lives in PostgreSQL: any node sharing the database and blob store can continue. */
describe('uploads survive nodes and restarts', () => {
  let databaseUrl: string;
  let dataDir: string;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    dataDir = tempDir();
    [a, b] = await Promise.all([
      startServer({ databaseUrl, dataDir }),
      startServer({ databaseUrl, dataDir }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('POST, PATCHes and PUT alternating between two nodes complete with the right digest', async () => {
    const ca = await adminClient(a.url);
    const cb = await adminClient(b.url);
    const data = randomBytesSeeded(3_000_000, 21);
    const { location } = await ca.startUpload('multi/node');
    let loc = location;
    const parts = [0, 700_000, 1_500_000, 2_200_000, data.length];
    for (let i = 0; i < parts.length - 1; i++) {
      const client = i % 2 === 0 ? cb : ca;
      const res = await client.fetch(loc, {
        method: 'PATCH',
        body: data.subarray(parts[i], parts[i + 1]),
        headers: { 'Content-Range': `${parts[i]}-${parts[i + 1] - 1}` },
      });
      expect(res.status).toBe(202);
      expect(res.headers.get('range')).toBe(`0-${parts[i + 1] - 1}`);
      loc = res.headers.get('location')!;
    }
    const done = await cb.fetch(`${loc}?digest=${sha256(data)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    const pulled = await ca.fetch(`/v2/multi/node/blobs/${sha256(data)}`);
    expect(sha256(Buffer.from(await pulled.arrayBuffer()))).toBe(sha256(data));
  });

  it('an upload continues after the node that started it restarts', async () => {
    const data = randomBytesSeeded(1_000_000, 22);
    let c = await adminClient(a.url);
    const { location } = await c.startUpload('restart/me');
    const p1 = await c.fetch(location, { method: 'PATCH', body: data.subarray(0, 400_000) });
    expect(p1.status).toBe(202);
    await a.stop();
    a = await startServer({ databaseUrl, dataDir });
    c = await adminClient(a.url);
    const status = await c.fetch(location);
    expect(status.headers.get('range')).toBe('0-399999');
    const p2 = await c.fetch(location, {
      method: 'PATCH',
      body: data.subarray(400_000),
      headers: { 'Content-Range': `400000-${data.length - 1}` },
    });
    expect(p2.status).toBe(202);
    const done = await c.fetch(`${location}?digest=${sha256(data)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
  });

  it('a node killed in the middle of a PATCH leaves the upload resumable on the other node', async () => {
    const data = randomBytesSeeded(1_500_000, 23);
    const ca = await adminClient(a.url);
    const cb = await adminClient(b.url);
    const { location } = await ca.startUpload('killed/mid');
    const first = await ca.fetch(location, { method: 'PATCH', body: data.subarray(0, 1_000_000) });
    expect(first.status).toBe(202);

    // The lost chunk is other bytes, and longer than what the client sends when it resumes: any
    // of them left behind would show in the blob (or in its size).
    const lost = randomBytesSeeded(2_000_000, 99);
    const id = location.split('/').pop()!;
    const stored = join(dataDir, 'storage', 'uploads', `${id}.d`);
    const bytesStored = () =>
      existsSync(stored)
        ? readdirSync(stored).reduce((n, f) => n + statSync(join(stored, f)).size, 0)
        : 0;
    // Killed once more of the lost chunk is stored than the remainder will hold.
    expect(
      await killDuringPatch(
        ca,
        location,
        lost,
        a,
        async () => bytesStored() >= 1_000_000 + 600_000,
      ),
    ).toBe('failed');

    // Nothing of the interrupted chunk was committed; the client resumes on node B from 1,000,000.
    const status = await cb.fetch(location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-999999');
    const rest = await cb.fetch(location, {
      method: 'PATCH',
      body: data.subarray(1_000_000),
      headers: { 'Content-Range': `1000000-${data.length - 1}` },
    });
    expect(rest.status).toBe(202);
    expect(rest.headers.get('range')).toBe(`0-${data.length - 1}`);
    const done = await cb.fetch(`${location}?digest=${sha256(data)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    const pulled = await cb.fetch(`/v2/killed/mid/blobs/${sha256(data)}`);
    expect(pulled.headers.get('content-length')).toBe(String(data.length));
    expect(Buffer.from(await pulled.arrayBuffer()).equals(data)).toBe(true);
    a = await startServer({ databaseUrl, dataDir });
  });
});

describe('expired upload sessions', () => {
  it('are aborted: the session is gone and its bytes are removed', async () => {
    const pg = (await import('pg')).default;
    const { readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const server = await startServer({
      env: { UPLOAD_TTL_SECONDS: '60', UPLOAD_SWEEP_INTERVAL_SECONDS: '1' },
    });
    try {
      const c = await adminClient(server.url);
      const { location } = await c.startUpload('expire/me');
      const fresh = await c.startUpload('expire/me');
      await c.fetch(location, { method: 'PATCH', body: 'some bytes' });
      const id = location.split('/').pop()!;
      const uploads = join(server.dataDir, 'storage', 'uploads');
      const files = () => readdirSync(uploads).filter((f) => f.startsWith(id));
      expect(files().length).toBeGreaterThan(0);
      const db = new pg.Client({ connectionString: server.databaseUrl });
      await db.connect();
      await db.query(`UPDATE uploads SET updated_at = now() - interval '2 minutes' WHERE id = $1`, [
        id,
      ]);
      await db.end();
      let status = 0;
      for (let i = 0; i < 100 && status !== 404; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await c.fetch(location)).status;
      }
      expect(status).toBe(404);
      expect(files()).toEqual([]);
      expect((await c.fetch(fresh.location)).status).toBe(204);
    } finally {
      await server.stop();
    }
  });
});
