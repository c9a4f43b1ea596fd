import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  adminApiKey,
  basicHeader,
  randomBytesSeeded,
  RegistryClient,
  sha256,
} from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';

/**
 * Storage usage per namespace and repository (each blob counted once per namespace, kept by the
 * links' triggers) and quotas: a push past the quota is refused with DENIED and leaves the
 * repository as it was; concurrent pushes never overshoot.
 */

interface Usage {
  namespace: string;
  usageBytes: number;
  quotaBytes: number | null;
  repositories: { name: string; usageBytes: number }[];
}

const DEFAULT_QUOTA = 5_000_000;

describe('storage usage and quotas', () => {
  let server: TestServer;
  let key: string;
  let c: RegistryClient;
  let uc: RegistryClient;
  const user = { authorization: basicHeader('quota-user', 'quota-user-password') };

  const api = (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = { 'x-api-key': key },
  ) =>
    fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const usage = async (ns: string): Promise<Usage> => {
    const res = await api('GET', `/namespaces/${ns}/usage`);
    expect(res.status).toBe(200);
    return (await res.json()) as Usage;
  };
  const setQuota = async (ns: string, bytes: number | null) => {
    const res = await api('PUT', `/namespaces/${ns}/quota`, { bytes });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    server = await startServer({
      env: { DEFAULT_NAMESPACE_QUOTA_BYTES: String(DEFAULT_QUOTA), GC_GRACE_SECONDS: '0' },
    });
    key = await adminApiKey(server.url);
    c = new RegistryClient(server.url, { 'x-api-key': key });
    const made = await api('POST', '/users', {
      username: 'quota-user',
      password: 'quota-user-password',
    });
    expect(made.status).toBe(201);
    const made2 = await api('POST', '/api-keys', { name: 'quota-tests' }, user);
    expect(made2.status).toBe(201);
    uc = new RegistryClient(server.url, {
      'x-api-key': ((await made2.json()) as { key: string }).key,
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('new namespaces get the default quota; usage counts each blob once per namespace', async () => {
    expect(await usage('registry-admin')).toMatchObject({
      usageBytes: 0,
      quotaBytes: DEFAULT_QUOTA,
    });
    expect((await usage('quota-user')).quotaBytes).toBe(DEFAULT_QUOTA);
    const l1 = randomBytesSeeded(100_000, 1);
    const l2 = randomBytesSeeded(50_000, 2);
    const a = await c.pushImage('registry-admin/a', 'v1', [l1]);
    const config = (JSON.parse(a.body) as { config: { size: number } }).config.size;
    await c.pushImage('registry-admin/b', 'v1', [l1, l2]);
    let u = await usage('registry-admin');
    expect(u.usageBytes).toBe(config + 100_000 + 50_000);
    expect(u.repositories).toEqual([
      { name: 'registry-admin/a', usageBytes: config + 100_000 },
      { name: 'registry-admin/b', usageBytes: config + 150_000 },
    ]);
    const details = await api('GET', '/repos/registry-admin/b');
    expect(((await details.json()) as { usageBytes: number }).usageBytes).toBe(config + 150_000);
    // Deleting a repository gives back what only it held.
    expect((await api('DELETE', '/repos/registry-admin/b')).status).toBe(204);
    u = await usage('registry-admin');
    expect(u.usageBytes).toBe(config + 100_000);
    // Another namespace holding the same blob counts it too.
    await uc.pushBlob('quota-user/x', l1);
    expect((await usage('quota-user')).usageBytes).toBe(100_000);
  });

  it('only system administrators set quotas; usage is for the namespace, its members and admins', async () => {
    expect((await api('PUT', '/namespaces/quota-user/quota', { bytes: 1 }, user)).status).toBe(403);
    expect((await api('GET', '/namespaces/registry-admin/usage', undefined, user)).status).toBe(
      404,
    );
    expect((await api('GET', '/namespaces/quota-user/usage', undefined, user)).status).toBe(200);
    for (const bad of [{ bytes: -1 }, { bytes: 'lots' }, {}, { bytes: 1.5 }])
      expect((await api('PUT', '/namespaces/quota-user/quota', bad)).status).toBe(400);
    expect((await api('PUT', '/namespaces/nobody-here/quota', { bytes: 1 })).status).toBe(404);
  });

  it('a push past the quota is refused with DENIED and leaves the repository as it was', async () => {
    const before = await usage('registry-admin');
    await setQuota('registry-admin', before.usageBytes + 10_000);
    const big = randomBytesSeeded(50_000, 3);
    const res = await c.fetch(`/v2/registry-admin/a/blobs/uploads/?digest=${sha256(big)}`, {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status).toBe(403);
    const err = ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0];
    expect(err.code).toBe('DENIED');
    expect(err.message).toContain('quota');
    expect(err.message).toContain(String(before.usageBytes));
    expect(err.message).toContain(String(before.usageBytes + 10_000));
    expect(err.message).toContain('50000');
    // Nothing half-written: no blob, same tags, same usage.
    expect(
      (await c.fetch(`/v2/registry-admin/a/blobs/${sha256(big)}`, { method: 'HEAD' })).status,
    ).toBe(404);
    const tags = (await (await c.fetch('/v2/registry-admin/a/tags/list')).json()) as {
      tags: string[];
    };
    expect(tags.tags).toEqual(['v1']);
    expect((await usage('registry-admin')).usageBytes).toBe(before.usageBytes);
    // A mount into the namespace counts the same way.
    await uc.pushBlob('quota-user/x', big);
    const mount = await c.fetch(
      `/v2/registry-admin/a/blobs/uploads/?mount=${sha256(big)}&from=quota-user/x`,
      { method: 'POST' },
    );
    expect(mount.status).toBe(403);
    expect((await usage('registry-admin')).usageBytes).toBe(before.usageBytes);
    // Both refusals are in the audit log (recorded on their own: the refused writes left nothing).
    const audit = await api('GET', '/audit?action=quota.refused');
    expect(audit.status).toBe(200);
    const refused = ((await audit.json()) as { items: Record<string, unknown>[] }).items;
    expect(refused).toHaveLength(2);
    for (const row of refused) {
      expect(JSON.stringify(row)).toContain(sha256(big));
      expect(row).toMatchObject({
        namespace: 'registry-admin',
        repository: 'registry-admin/a',
        details: expect.objectContaining({
          size: 50_000,
          usage: before.usageBytes,
          quota: before.usageBytes + 10_000,
        }),
      });
    }
    // Blobs the namespace holds already add nothing and are never refused.
    const again = await c.pushImage('registry-admin/a', 'v2', [randomBytesSeeded(100_000, 1)]);
    expect(again.digest).toMatch(/^sha256:/);
    // Lifted, the push goes through.
    await setQuota('registry-admin', null);
    await c.pushBlob('registry-admin/a', big);
    expect((await usage('registry-admin')).usageBytes).toBe(before.usageBytes + 50_000);
  });

  it('concurrent pushes never pass the quota', async () => {
    const start = (await usage('quota-user')).usageBytes;
    const size = 20_000;
    await setQuota('quota-user', start + 5 * size);
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const data = randomBytesSeeded(size, 100 + i);
        const res = await uc.fetch(
          `/v2/quota-user/race-${i % 3}/blobs/uploads/?digest=${sha256(data)}`,
          { method: 'POST', body: data, headers: { 'content-type': 'application/octet-stream' } },
        );
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(results.filter((s) => s === 201)).toHaveLength(5);
    expect(results.filter((s) => s === 403)).toHaveLength(5);
    expect((await usage('quota-user')).usageBytes).toBe(start + 5 * size);
  });
});
