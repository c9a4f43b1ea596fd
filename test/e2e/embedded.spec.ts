import { afterAll, describe, expect, it } from '@jest/globals';
import { adminClient } from '../support/registry.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';

/** The zero-setup default: no DATABASE_URL, so the server runs its own embedded PostgreSQL. */
describe('zero-setup default (embedded PostgreSQL, filesystem blobs)', () => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('starts with no configuration, keeps data across a restart', async () => {
    const dataDir = tempDir('aerugo-embedded-');
    server = await startServer({ databaseUrl: null, dataDir });
    let c = await adminClient(server.url);
    const health = await c.fetch('/api/v1/health');
    expect(await health.json()).toEqual({
      status: 'ok',
      database: 'ok',
      storage: 'ok',
      cache: {
        backend: 'memory',
        status: 'ok',
        circuit: 'closed',
        operations: { attempted: expect.any(Number), failed: 0, timedOut: 0, skipped: 0 },
      },
    });
    const { digest } = await c.pushImage('zero/setup', 'v1', ['embedded layer']);
    await server.stop();

    server = await startServer({ databaseUrl: null, dataDir });
    c = await adminClient(server.url);
    const res = await c.fetch('/v2/zero/setup/manifests/v1');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const catalog = (await (await c.fetch('/v2/_catalog')).json()) as { repositories: string[] };
    expect(catalog.repositories).toEqual(['zero/setup']);
  });

  it('a bad configuration value stops start-up with a message naming the variable', async () => {
    await expect(
      startServer({ databaseUrl: null, env: { LISTEN_ADDRESS: 'nonsense' } }),
    ).rejects.toThrow(/LISTEN_ADDRESS/);
    await expect(
      startServer({ databaseUrl: null, env: { STORAGE_DRIVER: 'tape' } }),
    ).rejects.toThrow(/STORAGE_DRIVER/);
    await expect(
      startServer({ databaseUrl: null, env: { DATABASE_URL: 'mysql://x' } }),
    ).rejects.toThrow(/DATABASE_URL/);
  });
});
