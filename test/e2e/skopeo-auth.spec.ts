import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeIfSkopeo, mkimage, skopeo } from '../support/skopeo.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import {
  api,
  type Json,
  ok,
  registerAndLogin,
  registryToken,
  type TestUser,
} from './identity-support.js';

const maybe = describeIfSkopeo() ? describe : describe.skip;

maybe('skopeo against Aerugo with authentication', () => {
  let server: TestServer;
  let host: string;
  let alice: TestUser;
  let eve: TestUser;
  let key: string;
  const src = tempDir('aerugo-auth-img-');
  const authfile = join(tempDir('aerugo-authfile-'), 'auth.json');
  let layers: string[] = [];

  /** Fails the test when skopeo succeeds: returns its error message. */
  async function refused(...args: string[]): Promise<string> {
    try {
      await skopeo(...args);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`skopeo ${args.join(' ')} succeeded but should have been refused`);
  }

  beforeAll(async () => {
    writeFileSync(authfile, '{}');
    server = await startServer();
    host = `127.0.0.1:${server.port}`;
    alice = await registerAndLogin(server.url, 'alice');
    eve = await registerAndLogin(server.url, 'eve');
    key = (
      await ok(server.url, 'POST', '/api-keys', {
        auth: { bearer: alice.accessToken },
        body: { name: 'skopeo' },
      })
    ).key;
    await ok(server.url, 'POST', '/repos', {
      auth: { bearer: alice.accessToken },
      body: { namespace: 'alice', name: 'public', visibility: 'public' },
    });
    await mkimage(src, 'v1', '1m,256k');
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  const dest = (repo: string) => `docker://${host}/${repo}`;
  const pull = (repo: string, ...creds: string[]) =>
    skopeo(
      'copy',
      '--src-tls-verify=false',
      ...creds,
      dest(repo),
      `oci:${tempDir('aerugo-pull-')}:x`,
    );

  it('logs in with valid credentials and refuses invalid ones', async () => {
    await skopeo(
      'login',
      '--tls-verify=false',
      '--authfile',
      authfile,
      '-u',
      'alice',
      '-p',
      alice.password,
      host,
    );
    await skopeo(
      'login',
      '--tls-verify=false',
      '--authfile',
      authfile,
      '-u',
      'alice',
      '-p',
      key,
      host,
    );
    const msg = await refused(
      'login',
      '--tls-verify=false',
      '--authfile',
      authfile,
      '-u',
      'alice',
      '-p',
      'wrong-password',
      host,
    );
    expect(msg).toMatch(/401|unauthorized|invalid/i);
  });

  it('pushes to and pulls from a private repository with a password and with an API key', async () => {
    await skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `alice:${alice.password}`,
      `oci:${src}:v1`,
      `${dest('alice/private')}:v1`,
    );
    await skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `alice:${key}`,
      `oci:${src}:v1`,
      `${dest('alice/private')}:v2`,
    );
    await pull('alice/private:v1', '--src-creds', `alice:${key}`);
    await pull('alice/private:v2', '--src-creds', `alice:${alice.password}`);
    const details = await ok(server.url, 'GET', '/repos/alice/private', {
      auth: { bearer: alice.accessToken },
    });
    expect(details.visibility).toBe('private');
    expect(details.tags.map((t: { name: string }) => t.name)).toEqual(['v1', 'v2']);
  });

  it('refuses other users and anonymous callers on a private repository', async () => {
    await refused(
      'copy',
      '--src-tls-verify=false',
      '--src-no-creds',
      `${dest('alice/private')}:v1`,
      `oci:${tempDir('aerugo-pull-')}:x`,
    );
    await refused(
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `eve:${eve.password}`,
      `${dest('alice/private')}:v1`,
      `oci:${tempDir('aerugo-pull-')}:x`,
    );
    await refused(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `eve:${eve.password}`,
      `oci:${src}:v1`,
      `${dest('alice/private')}:eve`,
    );
  });

  it('lets anonymous callers pull a public repository', async () => {
    await skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `alice:${key}`,
      `oci:${src}:v1`,
      `${dest('alice/public')}:v1`,
    );
    await pull('alice/public:v1', '--src-no-creds');
    const raw = await skopeo(
      'inspect',
      '--tls-verify=false',
      '--no-creds',
      '--raw',
      `${dest('alice/public')}:v1`,
    );
    expect(JSON.parse(raw).layers).toHaveLength(2);
  });

  it('mounts blobs across repositories of the same user instead of uploading them again', async () => {
    const t = await registryToken(
      server.url,
      ['repository:alice/private:pull', 'repository:alice/mounted:pull,push'],
      { basic: ['alice', key] },
    );
    // The digests as pushed (skopeo may have compressed the layers on the way).
    const m = await fetch(`${server.url}/v2/alice/private/manifests/v1`, {
      headers: {
        authorization: `Bearer ${t.token}`,
        accept: 'application/vnd.oci.image.manifest.v1+json',
      },
    });
    const manifest: Json = await m.json();
    layers = [manifest.config.digest, ...manifest.layers.map((l: { digest: string }) => l.digest)];
    for (const digest of layers) {
      const res = await fetch(
        `${server.url}/v2/alice/mounted/blobs/uploads/?mount=${digest}&from=alice/private`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${t.token}` },
        },
      );
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`/v2/alice/mounted/blobs/${digest}`);
    }
    // Every blob is there; skopeo finds them and only writes the manifest.
    await skopeo(
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `alice:${key}`,
      `oci:${src}:v1`,
      `${dest('alice/mounted')}:v1`,
    );
    await pull('alice/mounted:v1', '--src-creds', `alice:${key}`);
  });

  it('does not mount from a repository the caller cannot pull: an ordinary upload starts instead', async () => {
    const t = await registryToken(
      server.url,
      ['repository:alice/private:pull', 'repository:eve/stolen:pull,push'],
      { basic: ['eve', eve.password] },
    );
    const res = await fetch(
      `${server.url}/v2/eve/stolen/blobs/uploads/?mount=${layers[1]}&from=alice/private`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}` },
      },
    );
    expect(res.status).toBe(202);
    const head = await fetch(`${server.url}/v2/eve/stolen/blobs/${layers[1]}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(head.status).toBe(404);
    expect(
      (await api(server.url, 'GET', '/repos/eve/stolen', { auth: { bearer: eve.accessToken } }))
        .status,
    ).toBe(200);
  });
});
