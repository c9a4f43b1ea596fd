import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { redisRequired, TEST_REDIS_URL } from '../support/redis.js';
import {
  adminApiKey,
  adminClient,
  basicHeader,
  RegistryClient,
  randomBytesSeeded,
  sha256,
  TEST_ADMIN,
  killDuringPatch,
} from '../support/registry.js';
import { createTestDatabase, startServer, tempDir, type TestServer } from '../support/server.js';
import { describeIfSkopeo, mkimage, skopeo, useSkopeoCreds } from '../support/skopeo.js';
import { s3ServerAvailable, startS3TestServer, type S3TestServer } from '../support/swift.js';

const REDIS_URL = TEST_REDIS_URL;

function s3Required(): boolean {
  if (s3ServerAvailable()) return true;
  if (process.env.CI === 'true')
    throw new Error('the Swift S3 test server is required in CI (see .ci/run)');
  console.warn(
    'OpenStack Swift is not installed: skipping the S3 multi-node tests (see .ci/run for the packages)',
  );
  return false;
}

const maybe = s3Required() && (await redisRequired()) ? describe : describe.skip;

function s3Env(s3: S3TestServer, redirect: boolean): Record<string, string> {
  return {
    STORAGE_DRIVER: 's3',
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_REGION: s3.region,
    S3_USE_PATH_STYLE: 'true',
    S3_REDIRECT: String(redirect),
    REDIS_URL,
  };
}

/** GET a blob, following the registry's redirect to storage if it gives one. */
async function pullBlob(
  c: RegistryClient,
  repo: string,
  digest: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer; redirected: boolean }> {
  let res = await c.fetch(`/v2/${repo}/blobs/${digest}`, { headers });
  let redirected = false;
  if (res.status === 307) {
    redirected = true;
    res = await fetch(res.headers.get('location')!, { headers });
  }
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), redirected };
}

maybe('several nodes on shared PostgreSQL, Redis and S3', () => {
  let s3: S3TestServer;
  let a: TestServer;
  let b: TestServer;
  let databaseUrl: string;

  beforeAll(async () => {
    s3 = await startS3TestServer();
    databaseUrl = await createTestDatabase();
    const env = s3Env(s3, true);
    // Each node has its own DATA_DIR: nothing is shared through the local disk.
    [a, b] = await Promise.all([
      startServer({ databaseUrl, env }),
      startServer({ databaseUrl, env }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await s3?.stop();
  });

  it('health reports S3 storage and the Redis cache', async () => {
    const h = await (await fetch(`${a.url}/api/v1/health`)).json();
    expect(h).toMatchObject({
      status: 'ok',
      database: 'ok',
      storage: 'ok',
      cache: { backend: 'redis', status: 'ok' },
    });
  });

  it('a chunked upload alternating POST, PATCHes and PUT between nodes completes with the right digest', async () => {
    const ca = await adminClient(a.url);
    const cb = await adminClient(b.url);
    // Chunks below and above S3's 5 MiB part minimum, so parts and tails cross nodes.
    const sizes = [1, 100_000, 6 * 1024 * 1024, 3 * 1024 * 1024, 7 * 1024 * 1024 + 3, 12_345];
    const data = randomBytesSeeded(
      sizes.reduce((x, y) => x + y, 0),
      31,
    );
    const { location } = await ca.startUpload('multi/s3');
    let offset = 0;
    let loc = location;
    for (const [i, size] of sizes.entries()) {
      const client = i % 2 === 0 ? cb : ca;
      const res = await client.fetch(loc, {
        method: 'PATCH',
        body: data.subarray(offset, offset + size),
        headers: { 'Content-Range': `${offset}-${offset + size - 1}` },
      });
      expect(res.status).toBe(202);
      offset += size;
      expect(res.headers.get('range')).toBe(`0-${offset - 1}`);
      loc = res.headers.get('location')!;
    }
    const done = await ca.fetch(`${loc}?digest=${sha256(data)}`, { method: 'PUT' });
    expect(done.status).toBe(201);
    const pulled = await pullBlob(cb, 'multi/s3', sha256(data));
    expect(pulled.redirected).toBe(true);
    expect(sha256(pulled.body)).toBe(sha256(data));
    // Range requests work against the presigned URL too.
    const part = await pullBlob(cb, 'multi/s3', sha256(data), { Range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.body.equals(data.subarray(100, 200))).toBe(true);
  });

  it('a tag pushed through node A is pulled through node B immediately', async () => {
    const ca = await adminClient(a.url);
    const cb = await adminClient(b.url);
    const v1 = await ca.pushImage('multi/tags', 'latest', ['first']);
    expect(
      (await cb.fetch('/v2/multi/tags/manifests/latest')).headers.get('docker-content-digest'),
    ).toBe(v1.digest);
    const v2 = await ca.pushImage('multi/tags', 'latest', ['second']);
    expect(
      (await cb.fetch('/v2/multi/tags/manifests/latest')).headers.get('docker-content-digest'),
    ).toBe(v2.digest);
  });

  it('a tag deleted with its manifest on A stays gone on B when the manifest returns under another tag', async () => {
    const ca = await adminClient(a.url);
    const cb = await adminClient(b.url);
    const img = await ca.pushImage('multi/gone', 'a', ['gone layer']);
    // Both nodes have read (and cached) tag a.
    expect((await ca.fetch('/v2/multi/gone/manifests/a', { method: 'HEAD' })).status).toBe(200);
    expect((await cb.fetch('/v2/multi/gone/manifests/a', { method: 'HEAD' })).status).toBe(200);
    const del = await ca.fetch(`/v2/multi/gone/manifests/${img.digest}`, { method: 'DELETE' });
    expect(del.status).toBe(202);
    expect((await ca.putManifest('multi/gone', 'b', img.body)).status).toBe(201);
    for (const c of [ca, cb]) {
      expect((await c.fetch('/v2/multi/gone/manifests/a', { method: 'HEAD' })).status).toBe(404);
      expect(
        ((await (await c.fetch('/v2/multi/gone/tags/list')).json()) as { tags: string[] }).tags,
      ).toEqual(['b']);
    }
  });

  it('a permission revoked through node A is refused through node B immediately', async () => {
    const admin = {
      authorization: basicHeader(TEST_ADMIN.username, TEST_ADMIN.password),
    };
    const json = { ...admin, 'content-type': 'application/json' };
    const api = (node: TestServer, method: string, path: string, body?: unknown) =>
      fetch(`${node.url}/api/v1${path}`, {
        method,
        headers: json,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect(
      (await api(a, 'POST', '/users', { username: 'reader', password: 'reader-password' })).status,
    ).toBe(201);
    const ca = await adminClient(a.url);
    await ca.pushImage('registry-admin/shared', 'v1', ['shared layer']);
    expect(
      (
        await api(a, 'PUT', '/repos/registry-admin/shared/permissions', {
          users: [{ username: 'reader', level: 'read' }],
          teams: [],
        })
      ).status,
    ).toBe(200);
    const reader = new RegistryClient(b.url, {
      authorization: basicHeader('reader', 'reader-password'),
    });
    expect((await reader.fetch('/v2/registry-admin/shared/manifests/v1')).status).toBe(200);
    expect(
      (await api(a, 'PUT', '/repos/registry-admin/shared/permissions', { users: [], teams: [] }))
        .status,
    ).toBe(200);
    const refused = await reader.fetch('/v2/registry-admin/shared/manifests/v1');
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { errors: { code: string }[] }).errors[0].code).toBe(
      'DENIED',
    );
  });

  it('a node killed with SIGKILL mid-PATCH leaves an upload the client resumes on the other node; no partial blob is served', async () => {
    const ca = await adminClient(a.url);
    const cb = await adminClient(b.url);
    const data = randomBytesSeeded(8 * 1024 * 1024, 32);
    const digest = sha256(data);
    const { location } = await ca.startUpload('multi/killed');
    const first = await ca.fetch(location, {
      method: 'PATCH',
      body: data.subarray(0, 6 * 1024 * 1024),
    });
    expect(first.status).toBe(202);

    // The lost chunk is other bytes and longer than the remainder the client sends afterwards,
    // so anything of it left behind would show. The kill lands while the PATCH holds the upload.
    const id = location.split('/').pop()!;
    const lost = randomBytesSeeded(6 * 1024 * 1024, 33);
    expect(
      await killDuringPatch(ca, location, lost, a, async () => {
        const db = new pg.Client({ connectionString: databaseUrl });
        await db.connect();
        try {
          const r = await db.query(
            'SELECT 1 FROM uploads WHERE id = $1 AND lease_token IS NOT NULL',
            [id],
          );
          return r.rowCount === 1;
        } finally {
          await db.end();
        }
      }),
    ).toBe('failed');

    // The blob does not exist anywhere yet, and the upload stands at its last committed offset.
    expect((await cb.fetch(`/v2/multi/killed/blobs/${digest}`, { method: 'HEAD' })).status).toBe(
      404,
    );
    const status = await cb.fetch(location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${6 * 1024 * 1024 - 1}`);
    const rest = await cb.fetch(location, {
      method: 'PATCH',
      body: data.subarray(6 * 1024 * 1024),
      headers: { 'Content-Range': `${6 * 1024 * 1024}-${data.length - 1}` },
    });
    expect(rest.status).toBe(202);
    expect((await cb.fetch(`${location}?digest=${digest}`, { method: 'PUT' })).status).toBe(201);
    const pulled = await pullBlob(cb, 'multi/killed', digest);
    expect(sha256(pulled.body)).toBe(digest);
    a = await startServer({ databaseUrl, env: s3Env(s3, true) });
  });

  const withSkopeo = describeIfSkopeo() ? it : it.skip;
  withSkopeo(
    'skopeo pushes through node A and pulls through node B, with and without redirects',
    async () => {
      const proxied = await startServer({ databaseUrl, env: s3Env(s3, false) });
      useSkopeoCreds(`${TEST_ADMIN.username}:${await adminApiKey(a.url)}`);
      try {
        const src = tempDir('aerugo-img-');
        const digest = await mkimage(src, 'v1', '6m,1m', '--seed', '9');
        await skopeo(
          'copy',
          '--preserve-digests',
          '--dest-tls-verify=false',
          `oci:${src}:v1`,
          `docker://127.0.0.1:${a.port}/s3/app:v1`,
        );
        for (const node of [b, proxied]) {
          const out = tempDir('aerugo-pull-');
          await skopeo(
            'copy',
            '--preserve-digests',
            '--src-tls-verify=false',
            `docker://127.0.0.1:${node.port}/s3/app:v1`,
            `oci:${out}:v1`,
          );
          const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as {
            manifests: { digest: string }[];
          };
          expect(index.manifests[0].digest).toBe(digest);
          for (const f of readdirSync(join(out, 'blobs/sha256'))) {
            const h = createHash('sha256')
              .update(readFileSync(join(out, 'blobs/sha256', f)))
              .digest('hex');
            expect(h).toBe(f);
          }
        }
        // Without redirects the node proxies the bytes itself.
        const layer = (
          JSON.parse(
            await skopeo(
              'inspect',
              '--tls-verify=false',
              '--raw',
              `docker://127.0.0.1:${proxied.port}/s3/app:v1`,
            ),
          ) as { layers: { digest: string }[] }
        ).layers[0].digest;
        const proxiedClient = await adminClient(proxied.url);
        const res = await proxiedClient.fetch(`/v2/s3/app/blobs/${layer}`);
        expect(res.status).toBe(200);
        const whole = Buffer.from(await res.arrayBuffer());
        expect(sha256(whole)).toBe(layer);
        // Range requests work when the node proxies S3, too.
        const part = await proxiedClient.fetch(`/v2/s3/app/blobs/${layer}`, {
          headers: { Range: 'bytes=1000-1999' },
        });
        expect(part.status).toBe(206);
        expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${whole.length}`);
        expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(1000, 2000))).toBe(true);
        const redirected = await (await adminClient(b.url)).fetch(`/v2/s3/app/blobs/${layer}`);
        expect(redirected.status).toBe(307);
        // HEAD is redirected too, to a URL presigned for HEAD, which answers with the blob's size.
        const head = await (
          await adminClient(b.url)
        ).fetch(`/v2/s3/app/blobs/${layer}`, {
          method: 'HEAD',
        });
        expect(head.status).toBe(307);
        const direct = await fetch(head.headers.get('location')!, { method: 'HEAD' });
        expect(direct.status).toBe(200);
        expect(Number(direct.headers.get('content-length'))).toBeGreaterThan(0);
      } finally {
        await proxied.stop();
      }
    },
  );
});
