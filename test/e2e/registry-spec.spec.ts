import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { errorCode, RegistryClient, sha256, sha512 } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import { ok, registerAndLogin, registryToken, type TestUser } from './identity-support.js';

/** OCI Distribution Spec behaviours beyond the basics: digests, tags, mounts, catalog. */
describe('registry spec behaviours', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let a: RegistryClient;
  let b: RegistryClient;

  async function keyClient(u: TestUser): Promise<RegistryClient> {
    const key = await ok(server.url, 'POST', '/api-keys', {
      auth: { bearer: u.accessToken },
      body: { name: 'tests' },
    });
    return new RegistryClient(server.url, { 'x-api-key': key.key });
  }

  beforeAll(async () => {
    server = await startServer();
    alice = await registerAndLogin(server.url, 'alice');
    bob = await registerAndLogin(server.url, 'bob');
    a = await keyClient(alice);
    b = await keyClient(bob);
  });
  afterAll(async () => server?.stop());

  describe('an upload completed with a digest algorithm it was not started with', () => {
    const data = Buffer.from('bytes hashed on demand');

    it('chunked: POST without digest-algorithm, PATCH with Content-Range, PUT ?digest=sha512', async () => {
      const { location } = await a.startUpload('alice/sha');
      const p = await a.fetch(location, {
        method: 'PATCH',
        body: data,
        headers: { 'Content-Range': `0-${data.length - 1}` },
      });
      expect(p.status).toBe(202);
      const done = await a.fetch(`${p.headers.get('location')}?digest=${sha512(data)}`, {
        method: 'PUT',
      });
      expect(done.status).toBe(201);
      expect(done.headers.get('docker-content-digest')).toBe(sha512(data));
      expect(await (await a.fetch(`/v2/alice/sha/blobs/${sha512(data)}`)).text()).toBe(
        data.toString(),
      );
    });

    it('streamed: PATCH without Content-Range, then PUT with the last bytes and ?digest=sha512', async () => {
      const { location } = await a.startUpload('alice/sha2');
      const p = await a.fetch(location, { method: 'PATCH', body: data.subarray(0, 5) });
      expect(p.status).toBe(202);
      const done = await a.fetch(`${p.headers.get('location')}?digest=${sha512(data)}`, {
        method: 'PUT',
        body: data.subarray(5),
      });
      expect(done.status).toBe(201);
      expect(await (await a.fetch(`/v2/alice/sha2/blobs/${sha512(data)}`)).text()).toBe(
        data.toString(),
      );
    });

    it('started with digest-algorithm=sha512 and completed with sha256', async () => {
      const { location } = await a.startUpload('alice/sha3', '?digest-algorithm=sha512');
      const p = await a.fetch(location, { method: 'PATCH', body: data });
      const done = await a.fetch(`${p.headers.get('location')}?digest=${sha256(data)}`, {
        method: 'PUT',
      });
      expect(done.status).toBe(201);
    });

    it('a wrong sha512 digest is refused and the upload is gone', async () => {
      const { location } = await a.startUpload('alice/sha4');
      const p = await a.fetch(location, { method: 'PATCH', body: data });
      const bad = await a.fetch(`${p.headers.get('location')}?digest=${sha512('other')}`, {
        method: 'PUT',
      });
      expect(bad.status).toBe(400);
      expect(await errorCode(bad)).toBe('DIGEST_INVALID');
      expect((await a.fetch(location)).status).toBe(404);
      expect((await a.fetch(`/v2/alice/sha4/blobs/${sha512('other')}`)).status).toBe(404);
    });

    it('monolithic sha512 and a mount by sha512 digest', async () => {
      await a.pushBlob('alice/sha5', 'monolithic sha512', sha512('monolithic sha512'));
      const m = await a.fetch(
        `/v2/alice/sha6/blobs/uploads/?mount=${sha512('monolithic sha512')}&from=alice/sha5`,
        { method: 'POST' },
      );
      expect(m.status).toBe(201);
      expect(
        await (await a.fetch(`/v2/alice/sha6/blobs/${sha512('monolithic sha512')}`)).text(),
      ).toBe('monolithic sha512');
    });
  });

  describe('manifests and tags', () => {
    async function image(repo: string): Promise<string> {
      const config = '{"architecture":"amd64","os":"linux"}';
      await a.pushBlob(repo, config);
      await a.pushBlob(repo, 'a layer');
      return JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha256(config),
          size: config.length,
        },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: sha256('a layer'),
            size: 7,
          },
        ],
      });
    }

    it('a tag pushed by sha512 digest answers GET and HEAD with that sha512 digest', async () => {
      const body = await image('alice/t512');
      const put = await a.putManifest('alice/t512', `${sha512(body)}?tag=v1`, body);
      expect(put.status).toBe(201);
      expect(put.headers.get('docker-content-digest')).toBe(sha512(body));
      for (const method of ['GET', 'HEAD']) {
        const res = await a.fetch('/v2/alice/t512/manifests/v1', {
          method,
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('docker-content-digest')).toBe(sha512(body));
      }
      // Pushed again by tag name, the tag answers with sha256 (the canonical algorithm).
      expect((await a.putManifest('alice/t512', 'v1', body)).status).toBe(201);
      const head = await a.fetch('/v2/alice/t512/manifests/v1', { method: 'HEAD' });
      expect(head.headers.get('docker-content-digest')).toBe(sha256(body));
    });

    it('PUT with ?tag= answers an OCI-Tag header for each tag', async () => {
      const body = await image('alice/otag');
      const put = await a.putManifest('alice/otag', `${sha256(body)}?tag=one&tag=two`, body);
      expect(put.status).toBe(201);
      expect(put.headers.get('oci-tag')).toBe('one, two');
      const tags = (await (await a.fetch('/v2/alice/otag/tags/list')).json()) as { tags: string[] };
      expect(tags.tags).toEqual(['one', 'two']);
      const plain = await a.putManifest('alice/otag', 'three', body);
      expect(plain.headers.get('oci-tag')).toBeNull();
    });

    it('a descriptor whose size is not the blob size is refused and nothing is stored', async () => {
      const body = JSON.parse(await image('alice/size'));
      body.config.size = 999;
      const res = await a.putManifest('alice/size', 'v1', JSON.stringify(body));
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe('MANIFEST_INVALID');
      expect((await a.fetch('/v2/alice/size/manifests/v1')).status).toBe(404);
    });

    it('a tag deleted with its manifest does not come back from the cache when the manifest returns', async () => {
      const body = await image('alice/gone');
      expect((await a.putManifest('alice/gone', 'a', body)).status).toBe(201);
      expect((await a.fetch('/v2/alice/gone/manifests/a')).status).toBe(200); // cached now
      expect(
        (await a.fetch(`/v2/alice/gone/manifests/${sha256(body)}`, { method: 'DELETE' })).status,
      ).toBe(202);
      expect((await a.putManifest('alice/gone', 'b', body)).status).toBe(201);
      expect((await a.fetch('/v2/alice/gone/manifests/a', { method: 'HEAD' })).status).toBe(404);
      expect((await a.fetch('/v2/alice/gone/manifests/a')).status).toBe(404);
      expect(
        ((await (await a.fetch('/v2/alice/gone/tags/list')).json()) as { tags: string[] }).tags,
      ).toEqual(['b']);
    });
  });

  describe('cross-repository mounts', () => {
    const blob = 'a blob to mount';

    beforeAll(async () => {
      await a.pushBlob('alice/src', blob);
    });

    it('a token without pull on `from` is challenged for both scopes, then the mount works', async () => {
      const auth = { basic: [alice.username, alice.password] as [string, string] };
      const narrow = await registryToken(server.url, ['repository:alice/dst:pull,push'], auth);
      const url = `/v2/alice/dst/blobs/uploads/?mount=${sha256(blob)}&from=alice/src`;
      const res = await a.fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${narrow.token}`, 'x-api-key': '' },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain(
        'scope="repository:alice/dst:pull,push repository:alice/src:pull"',
      );
      const both = await registryToken(
        server.url,
        ['repository:alice/dst:pull,push', 'repository:alice/src:pull'],
        auth,
      );
      const mounted = await fetch(`${server.url}${url}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${both.token}` },
      });
      expect(mounted.status).toBe(201);
    });

    it('an anonymous mount request is challenged for both scopes', async () => {
      const res = await fetch(
        `${server.url}/v2/alice/dst/blobs/uploads/?mount=${sha256(blob)}&from=alice/src`,
        { method: 'POST' },
      );
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain(
        'scope="repository:alice/dst:pull,push repository:alice/src:pull"',
      );
    });

    it('a source the caller cannot pull is not challenged: the POST starts an upload', async () => {
      const auth = { basic: [bob.username, bob.password] as [string, string] };
      const t = await registryToken(
        server.url,
        ['repository:bob/dst:pull,push', 'repository:alice/src:pull'],
        auth,
      );
      const res = await fetch(
        `${server.url}/v2/bob/dst/blobs/uploads/?mount=${sha256(blob)}&from=alice/src`,
        { method: 'POST', headers: { authorization: `Bearer ${t.token}` } },
      );
      expect(res.status).toBe(202);
      expect((await b.fetch(`/v2/bob/dst/blobs/${sha256(blob)}`)).status).toBe(404);
    });

    it('without `from`, a blob is mounted from a repository the caller may pull, and only then', async () => {
      const own = await a.fetch(`/v2/alice/nofrom/blobs/uploads/?mount=${sha256(blob)}`, {
        method: 'POST',
      });
      expect(own.status).toBe(201);
      expect(await (await a.fetch(`/v2/alice/nofrom/blobs/${sha256(blob)}`)).text()).toBe(blob);

      // alice/src is private: bob learns nothing from knowing the digest.
      const other = await b.fetch(`/v2/bob/nofrom/blobs/uploads/?mount=${sha256(blob)}`, {
        method: 'POST',
      });
      expect(other.status).toBe(202);
      expect((await b.fetch(`/v2/bob/nofrom/blobs/${sha256(blob)}`)).status).toBe(404);

      await ok(server.url, 'PATCH', '/repos/alice/src', {
        auth: { bearer: alice.accessToken },
        body: { visibility: 'public' },
      });
      const now = await b.fetch(`/v2/bob/nofrom/blobs/uploads/?mount=${sha256(blob)}`, {
        method: 'POST',
      });
      expect(now.status).toBe(201);
    });
  });

  describe('catalog', () => {
    it('pages hold only what the caller may pull, and Link appears only when more of that follows', async () => {
      const admin = await registerAndLogin(server.url, 'carol');
      const carol = await keyClient(admin);
      await carol.pushBlob('carol/pub', 'x');
      await ok(server.url, 'PATCH', '/repos/carol/pub', {
        auth: { bearer: admin.accessToken },
        body: { visibility: 'public' },
      });
      for (const n of ['carol/zz1', 'carol/zz2', 'carol/zz3']) await carol.pushBlob(n, 'x');
      const dave = await keyClient(await registerAndLogin(server.url, 'dave'));
      await dave.pushBlob('dave/mine', 'x');
      // After dave's last visible name there are only names dave may not see: no Link then.
      const zoe = await keyClient(await registerAndLogin(server.url, 'zoe'));
      await zoe.pushBlob('zoe/private', 'x');
      const pages: string[][] = [];
      let url: string | null = '/v2/_catalog?n=1&last=carol';
      for (let i = 0; url && i < 10; i++) {
        const res: Response = await dave.fetch(url);
        expect(res.status).toBe(200);
        pages.push(((await res.json()) as { repositories: string[] }).repositories);
        url = res.headers.get('link')?.match(/<([^>]+)>/)?.[1] ?? null;
      }
      expect(pages).toEqual([['carol/pub'], ['dave/mine']]);
    });
  });
});
