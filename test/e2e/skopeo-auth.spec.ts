import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
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
const execFileP = promisify(execFile);

maybe('skopeo against Aerugo with authentication', () => {
  let server: TestServer;
  let host: string;
  let alice: TestUser;
  let eve: TestUser;
  let key: string;
  const src = tempDir('aerugo-auth-img-');
  const authfile = join(tempDir('aerugo-authfile-'), 'auth.json');
  let layers: string[] = [];

  /**
   * Fails the test when skopeo succeeds, or fails for another reason than a refusal (a crash, a
   * 5xx, a network error): returns its error message.
   */
  async function refused(...args: string[]): Promise<string> {
    try {
      await skopeo(...args);
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toMatch(
        /\b(401|403)\b|unauthorized|denied|authentication required|invalid username\/password/i,
      );
      expect(msg).not.toMatch(/\b5\d\d\b|internal server error|connection refused|EOF/i);
      return msg;
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
    // Every blob is there; skopeo finds them and only writes the manifest. Its debug log names
    // every request it makes: no upload is started, only the manifest is written.
    const { stderr } = await execFileP(
      'skopeo',
      [
        '--debug',
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        `alice:${key}`,
        `oci:${src}:v1`,
        `${dest('alice/mounted')}:v1`,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const requests = [...stderr.matchAll(/msg="(GET|HEAD|POST|PATCH|PUT|DELETE) (\S+)"/g)].map(
      (m) => `${m[1]} ${new URL(m[2]).pathname}${new URL(m[2]).search}`,
    );
    // skopeo may try a mount from another repository it remembers (a POST with ?mount=), but it
    // sends no blob bytes: no PATCH or PUT to an upload, no POST that is not a mount.
    const uploads = requests.filter((r) => /\/blobs\/uploads\//.test(r));
    expect(uploads.filter((r) => !/^POST .*[?&]mount=/.test(r))).toEqual([]);
    expect(
      requests.filter((r) => /^(HEAD|POST) \/v2\/alice\/mounted\/blobs\//.test(r)).length,
    ).toBeGreaterThan(0);
    expect(requests).toContain('PUT /v2/alice/mounted/manifests/v1');
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
