import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { adminClient, errorCode } from '../support/registry.js';
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
    const res = await c.fetch('/v2/s3down/app/blobs/uploads/?digest=sha256:' + 'a'.repeat(64), {
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
    const head = await c.fetch('/v2/s3down/app/blobs/sha256:' + 'a'.repeat(64), { method: 'HEAD' });
    expect(head.status).toBe(404);
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
