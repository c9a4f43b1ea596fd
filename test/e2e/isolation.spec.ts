import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RegistryClient, sha256 } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import {
  basicHeader,
  JWT_SECRET,
  ok,
  registerAndLogin,
  registryErrorCode,
  registryToken,
  type TestUser,
} from './identity-support.js';

/**
 * Cross-tenant isolation of content-addressed things. Blobs and manifests are stored once per
 * digest, but every repository sees only what was pushed (or mounted) into it: knowing a digest
 * of somebody else's private repository gives nothing — no blob, no mount, no manifest that
 * references it, no referrers listed across the boundary.
 *
 * alice owns alice/secret (private) and alice/pub (public); carol may read alice/secret; eve is
 * an outsider with her own eve/app.
 */

let server: TestServer;
let base: string;
const users: Record<string, TestUser> = {};
const keys: Record<string, string> = {};
let alice: RegistryClient;

const SECRET_LAYER = 'the secret layer of alice/secret';
const SECRET_CONFIG = JSON.stringify({ architecture: 'amd64', os: 'linux', note: 'secret' });
const secretLayer = sha256(SECRET_LAYER);
const secretConfig = sha256(SECRET_CONFIG);
/** A blob only alice/secret holds (the layer is also in the public alice/pub). */
const ONLY_SECRET = 'a blob nobody but alice/secret holds';
const onlySecret = sha256(ONLY_SECRET);
let secretImage: string;
let secretSignature: string;
let seq = 0;

type Way = 'token' | 'basic' | 'apiKey';
const WAYS: Way[] = ['token', 'basic', 'apiKey'];

async function client(user: string, way: Way, scopes: string[]): Promise<RegistryClient> {
  const u = users[user];
  if (way === 'basic')
    return new RegistryClient(base, { authorization: basicHeader(u.username, u.password) });
  if (way === 'apiKey') return new RegistryClient(base, { 'x-api-key': keys[user] });
  const t = await registryToken(base, scopes, { basic: [u.username, u.password] });
  expect(t.status).toBe(200);
  return new RegistryClient(base, { authorization: `Bearer ${t.token}` });
}

function manifest(config: string, configSize: number, layers: [string, number][], extra = {}) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: config,
      size: configSize,
    },
    layers: layers.map(([digest, size]) => ({
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest,
      size,
    })),
    ...extra,
  });
}

const secretManifest = (extra = {}) =>
  manifest(
    secretConfig,
    Buffer.byteLength(SECRET_CONFIG),
    [[secretLayer, Buffer.byteLength(SECRET_LAYER)]],
    extra,
  );

beforeAll(async () => {
  server = await startServer({
    env: {
      JWT_SECRET,
      AUTH_RATE_LIMIT_PER_ADDRESS: '100000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
      AUTH_PASSWORD_CHECKS_PER_ADDRESS: '10000',
    },
  });
  base = server.url;
  for (const name of ['alice', 'carol', 'eve']) {
    users[name] = await registerAndLogin(base, name);
    keys[name] = (
      await ok(base, 'POST', '/api-keys', {
        auth: { bearer: users[name].accessToken },
        body: { name: 'isolation' },
      })
    ).key;
  }
  const auth = { bearer: users.alice.accessToken };
  await ok(base, 'POST', '/repos', {
    auth,
    body: { namespace: 'alice', name: 'secret', visibility: 'private' },
  });
  await ok(base, 'POST', '/repos', {
    auth,
    body: { namespace: 'alice', name: 'pub', visibility: 'public' },
  });
  await ok(base, 'PUT', '/repos/alice/secret/permissions', {
    auth,
    body: { users: [{ username: 'carol', level: 'read' }], teams: [] },
  });
  await ok(base, 'POST', '/repos', {
    auth: { bearer: users.eve.accessToken },
    body: { namespace: 'eve', name: 'app', visibility: 'private' },
  });
  alice = new RegistryClient(base, { 'x-api-key': keys.alice });
  await alice.pushBlob('alice/secret', SECRET_CONFIG);
  await alice.pushBlob('alice/secret', SECRET_LAYER);
  await alice.pushBlob('alice/secret', ONLY_SECRET);
  const image = secretManifest();
  expect((await alice.putManifest('alice/secret', 'v1', image)).status).toBe(201);
  secretImage = sha256(image);
  const signature = secretManifest({
    artifactType: 'application/vnd.example.sig',
    subject: {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: secretImage,
      size: Buffer.byteLength(image),
    },
  });
  expect((await alice.putManifest('alice/secret', sha256(signature), signature)).status).toBe(201);
  secretSignature = sha256(signature);
  // The public repository holds the same image (same digest) but no signature.
  await alice.pushBlob('alice/pub', SECRET_CONFIG);
  await alice.pushBlob('alice/pub', SECRET_LAYER);
  expect((await alice.putManifest('alice/pub', 'v1', image)).status).toBe(201);
  // eve's own image, so her repository exists and has content.
  await (await client('eve', 'apiKey', [])).pushImage('eve/app', 'v1', ['eve layer']);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('blobs', () => {
  it.each(WAYS)('a digest stored in another repository is unknown in mine (%s)', async (way) => {
    const eve = await client('eve', way, ['repository:eve/app:pull,push,delete']);
    for (const method of ['GET', 'HEAD']) {
      const res = await eve.fetch(`/v2/eve/app/blobs/${secretLayer}`, { method });
      expect(res.status).toBe(404);
      if (method === 'GET') expect(await registryErrorCode(res)).toBe('BLOB_UNKNOWN');
    }
    // Deleting it from her repository touches nothing of alice's.
    const del = await eve.fetch(`/v2/eve/app/blobs/${secretLayer}`, { method: 'DELETE' });
    expect(del.status).toBe(404);
    const still = await alice.fetch(`/v2/alice/secret/blobs/${secretLayer}`);
    expect(await still.text()).toBe(SECRET_LAYER);
  });
});

describe('cross-repository mounts', () => {
  it.each(WAYS)(
    'from a repository the caller cannot read: an ordinary upload, nothing mounted (%s)',
    async (way) => {
      const target = `eve/mount-${way.toLowerCase()}`;
      const eve = await client('eve', way, [
        `repository:${target}:pull,push`,
        'repository:alice/secret:pull',
      ]);
      for (const query of [`?mount=${onlySecret}&from=alice/secret`, `?mount=${onlySecret}`]) {
        const res = await eve.fetch(`/v2/${target}/blobs/uploads/${query}`, { method: 'POST' });
        expect([query, res.status]).toEqual([query, 202]);
        expect(res.headers.get('location')).toMatch(
          new RegExp(`^/v2/${target}/blobs/uploads/[0-9a-f-]+$`),
        );
        const head = await eve.fetch(`/v2/${target}/blobs/${onlySecret}`, { method: 'HEAD' });
        expect(head.status).toBe(404);
      }
    },
  );

  it.each(WAYS)(
    'from a repository the caller can read: mounted without an upload (%s)',
    async (way) => {
      const target = `carol/mounted-${way.toLowerCase()}`;
      const carol = await client('carol', way, [
        `repository:${target}:pull,push`,
        'repository:alice/secret:pull',
      ]);
      const res = await carol.fetch(
        `/v2/${target}/blobs/uploads/?mount=${onlySecret}&from=alice/secret`,
        { method: 'POST' },
      );
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/v2/${target}/blobs/${onlySecret}`);
      expect(await (await carol.fetch(`/v2/${target}/blobs/${onlySecret}`)).text()).toBe(
        ONLY_SECRET,
      );
    },
  );
});

describe('manifest references', () => {
  it.each(WAYS)(
    'a manifest whose blobs exist only in another repository is refused (%s)',
    async (way) => {
      const eve = await client('eve', way, ['repository:eve/app:pull,push']);
      const res = await eve.putManifest(
        'eve/app',
        `stolen-${seq++}`,
        secretManifest({ annotations: { way } }),
      );
      expect(res.status).toBe(400);
      expect(await registryErrorCode(res)).toBe('MANIFEST_BLOB_UNKNOWN');
      expect((await eve.fetch('/v2/eve/app/tags/list')).status).toBe(200);
      const tags = (await (await eve.fetch('/v2/eve/app/tags/list')).json()) as { tags: string[] };
      expect(tags.tags).toEqual(['v1']);
    },
  );

  it('even for the owner of both repositories: a repository sees only its own blobs', async () => {
    await ok(base, 'POST', '/repos', {
      auth: { bearer: users.alice.accessToken },
      body: { namespace: 'alice', name: 'other', visibility: 'private' },
    });
    const res = await alice.putManifest('alice/other', 'v1', secretManifest());
    expect(res.status).toBe(400);
    expect(await registryErrorCode(res)).toBe('MANIFEST_BLOB_UNKNOWN');
  });

  it('an index whose manifests exist only in another repository is refused', async () => {
    const eve = await client('eve', 'apiKey', []);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: secretImage,
          size: Buffer.byteLength(secretManifest()),
          platform: { architecture: 'amd64', os: 'linux' },
        },
      ],
    });
    const res = await eve.putManifest('eve/app', 'stolen-index', index);
    expect(res.status).toBe(400);
    expect(['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_UNKNOWN']).toContain(await registryErrorCode(res));
    expect((await eve.fetch(`/v2/eve/app/manifests/${secretImage}`)).status).toBe(404);
  });
});

describe('referrers', () => {
  it('lists only the referrers stored in the repository asked about', async () => {
    // eve points an artifact of her own at alice's secret image (a subject need not exist).
    const eve = await client('eve', 'apiKey', []);
    await eve.pushBlob('eve/app', SECRET_CONFIG);
    await eve.pushBlob('eve/app', SECRET_LAYER);
    const evil = secretManifest({
      artifactType: 'application/vnd.example.evil',
      subject: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: secretImage,
        size: 1,
      },
    });
    expect((await eve.putManifest('eve/app', sha256(evil), evil)).status).toBe(201);

    const listed = async (c: RegistryClient, repo: string) => {
      const res = await c.fetch(`/v2/${repo}/referrers/${secretImage}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { manifests: { digest: string }[] }).manifests.map(
        (m) => m.digest,
      );
    };
    // The owner sees her signature, not eve's artifact.
    expect(await listed(alice, 'alice/secret')).toEqual([secretSignature]);
    // eve sees her artifact, not alice's signature.
    expect(await listed(eve, 'eve/app')).toEqual([sha256(evil)]);
    // The public copy of the same image has no referrers: the private signature stays private.
    expect(await listed(new RegistryClient(base), 'alice/pub')).toEqual([]);
    expect(await listed(eve, 'alice/pub')).toEqual([]);
    // And the private repository's list itself is refused to eve.
    for (const way of WAYS) {
      const c = await client('eve', way, ['repository:alice/secret:pull']);
      expect((await c.fetch(`/v2/alice/secret/referrers/${secretImage}`)).status).toBe(403);
    }
  });
});
