import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { adminClient, errorCode, sha256 } from '../support/registry.js';
import { freePort, startServer, type TestServer } from '../support/server.js';

/** S3 that cannot be reached: clear 503 registry errors, nothing half-written, health says so. */
describe('blob storage unreachable', () => {
  let server: TestServer;

  beforeAll(async () => {
    const dead = await freePort();
    server = await startServer({
      env: {
        STORAGE_DRIVER: 's3',
        S3_ENDPOINT: `http://127.0.0.1:${dead}`,
        S3_BUCKET: 'missing',
        S3_ACCESS_KEY: 'key',
        S3_SECRET_KEY: 'do-not-print-this-secret',
        S3_USE_PATH_STYLE: 'true',
      },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('uploads fail with 503 UNAVAILABLE and leave nothing behind', async () => {
    const c = await adminClient(server.url);
    // The digest matches the body: only the storage being down can stop this upload.
    const digest = sha256('hello');
    const res = await c.fetch(`/v2/s3down/app/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: 'hello',
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    const body = await res.text();
    expect(JSON.parse(body).errors[0].code).toBe('UNAVAILABLE');
    expect(body).toMatch(/storage unavailable/);
    expect(body).not.toContain('do-not-print-this-secret');
    expect(server.logs()).not.toContain('do-not-print-this-secret');
    const head = await c.fetch(`/v2/s3down/app/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    // Nothing recorded either: no blob, no repository link. (The upload session the POST opened
    // is left for the expiry sweep: see the README's Tests section.)
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      const count = async (sql: string, args: unknown[] = []) =>
        Number((await db.query<{ n: string }>(sql, args)).rows[0].n);
      expect(await count('SELECT count(*) AS n FROM blobs WHERE digest = $1', [digest])).toBe(0);
      expect(
        await count('SELECT count(*) AS n FROM repository_blobs WHERE digest = $1', [digest]),
      ).toBe(0);
    } finally {
      await db.end();
    }
  });

  it('health reports the storage as down with 503', async () => {
    const res = await fetch(`${server.url}/api/v1/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'down', database: 'ok', storage: 'down' });
  });

  it('registry metadata still answers from the database', async () => {
    const c = await adminClient(server.url);
    expect((await c.fetch('/v2/')).status).toBe(200);
    const res = await c.fetch('/v2/_catalog');
    expect(res.status).toBe(200);
    expect(await errorCode(await c.fetch('/v2/nothing/tags/list'))).toBe('NAME_UNKNOWN');
  });
});
