import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildImage,
  describeIfDocker,
  importBase,
  runCommand,
  startDocker,
  trustCa,
  type DockerEngine,
} from '../support/docker.js';
import { skopeoAvailable } from '../support/skopeo.js';
import { PROJECT_ROOT } from '../support/test-env.js';
import { freePort, startServer, tempDir, type TestServer } from '../support/server.js';
import {
  apiCall,
  externalIPv4,
  issueServerCert,
  makeTestPki,
  opensslAvailable,
  request,
  type TestPki,
} from '../support/tls.js';

const maybe = describeIfDocker() && opensslAvailable() ? describe : describe.skip;

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/**
 * The docker CLI (and its daemon) against Aerugo over HTTPS with a CA the suite makes. Aerugo
 * listens on this machine's non-loopback address: docker accepts any certificate (and plain HTTP)
 * from 127.0.0.0/8, so only another address shows that it verifies Aerugo's certificate.
 */
maybe('the docker CLI against Aerugo over TLS', () => {
  let engine: DockerEngine;
  let pki: TestPki;
  let server: TestServer;
  let reg: string;
  let untrust = () => {};
  let appDigest = '';
  const id = randomBytes(4).toString('hex');
  const base = `aerugo-test/busybox:${id}`;
  const alice = { username: 'alice', password: 'alice-password-1', key: '' };
  const bob = { username: 'bob', password: 'bob-password-1' };
  const payload = randomBytes(256 * 1024);
  const payloadSum = createHash('sha256').update(payload).digest('hex');
  const expectedOutput = `hello from the build context\nbuilt by docker\n${payloadSum}  /app/payload.bin\n`;
  const external = externalIPv4();
  const pkiDir = tempDir('aerugo-docker-pki-');
  const images = new Set<string>();

  const api = (method: string, path: string, opts: Parameters<typeof apiCall>[4] = {}) =>
    apiCall(server.url, pki.ca, method, path, opts);

  /** docker login with a password or key on stdin; returns the result. */
  const login = (user: string, secret: string) =>
    engine.tryDocker(['login', '-u', user, '--password-stdin', reg], secret);

  async function dockerFails(...args: string[]): Promise<string> {
    const r = await engine.tryDocker(args);
    if (r.code === 0) throw new Error(`docker ${args.join(' ')} succeeded but should have failed`);
    return r.stderr + r.stdout;
  }

  async function push(ref: string): Promise<string> {
    images.add(ref);
    const out = await engine.docker('push', ref);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
    if (!digest) throw new Error(`no digest in the output of docker push ${ref}:\n${out}`);
    return digest;
  }

  /** The manifest as Aerugo stores it, read over HTTPS with alice's password. */
  async function storedManifest(repo: string, ref: string) {
    const res = await request(`${server.url}/v2/${repo}/manifests/${ref}`, {
      ca: pki.ca,
      headers: {
        authorization: `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}`,
        accept: DOCKER_MANIFEST,
      },
    });
    expect(res.status).toBe(200);
    return { digest: res.headers['docker-content-digest'], manifest: JSON.parse(res.body) };
  }

  beforeAll(async () => {
    if (!external) console.warn('no non-loopback IPv4 address: docker will not verify the CA');
    const host = external ?? '127.0.0.1';
    engine = await startDocker();
    pki = await makeTestPki(pkiDir);
    const cert = await issueServerCert(pki, 'registry', [host, '127.0.0.1', 'localhost']);
    const port = await freePort();
    server = await startServer({ host, port, tls: { ...cert, ca: pki.ca } });
    reg = `${host}:${port}`;
    for (const { username, password } of [alice, bob])
      await api('POST', '/auth/register', { body: { username, password } });
    const basic: [string, string] = [alice.username, alice.password];
    alice.key = (await api('POST', '/api-keys', { basic, body: { name: 'docker' } })).key;
    await api('POST', '/repos', {
      basic,
      body: { namespace: 'alice', name: 'public', visibility: 'public' },
    });
    await importBase(engine, 'busybox', base);
    images.add(base);
    // Three layers over the base: a file from the context, a RUN step, a larger file.
    const ref = `${reg}/alice/app:v1`;
    await buildImage(
      engine,
      ref,
      [
        `FROM ${base}`,
        'COPY greeting.txt /app/greeting.txt',
        'RUN echo "built by docker" > /app/built.txt',
        'COPY payload.bin /app/payload.bin',
        'CMD ["sh", "-c", "cat /app/greeting.txt /app/built.txt && sha256sum /app/payload.bin"]',
        '',
      ].join('\n'),
      { 'greeting.txt': 'hello from the build context\n', 'payload.bin': payload },
    );
    images.add(ref);
  }, 300_000);

  afterAll(async () => {
    if (engine) {
      await engine.tryDocker(['logout', reg]);
      for (const image of images) await engine.tryDocker(['rmi', '-f', image]);
      await engine.stop();
    }
    untrust();
    await server?.stop();
    rmSync(pkiDir, { recursive: true, force: true });
  }, 120_000);

  it('refuses the registry until its CA is trusted in certs.d, then logs in with a password', async () => {
    if (external) {
      const r = await login(alice.username, alice.password);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/x509: certificate signed by unknown authority/);
    }
    untrust = trustCa(reg, pki.caFile);
    const r = await login(alice.username, alice.password);
    expect(r.stdout + r.stderr).toContain('Login Succeeded');
    // The CLI keeps what the daemon got: an identity (refresh) token, not the password.
    const config = JSON.parse(readFileSync(join(engine.env.DOCKER_CONFIG!, 'config.json'), 'utf8'));
    expect(config.auths[reg]).toBeDefined();
    expect(JSON.stringify(config)).not.toContain(alice.password);
  });

  it('pushes an image built from a local base, every layer stored', async () => {
    appDigest = await push(`${reg}/alice/app:v1`);
    const { digest, manifest } = await storedManifest('alice/app', 'v1');
    expect(digest).toBe(appDigest);
    expect(manifest.mediaType).toBe(DOCKER_MANIFEST);
    expect(manifest.layers).toHaveLength(4);
  });

  it('pushes the same image to a second repository by mounting the layers', async () => {
    const copy = `${reg}/alice/copy:v1`;
    await engine.docker('tag', `${reg}/alice/app:v1`, copy);
    images.add(copy);
    const out = await engine.docker('push', copy);
    expect(out.match(/Mounted from alice\/app/g)).toHaveLength(4);
    expect(out).toContain(`digest: ${appDigest}`);
  });

  it('pulls by tag and by digest after rmi, and runs the pulled image', async () => {
    await engine.docker('rmi', `${reg}/alice/app:v1`, `${reg}/alice/copy:v1`);
    await engine.docker('pull', `${reg}/alice/app:v1`);
    expect(await engine.docker('run', '--rm', '--network', 'none', `${reg}/alice/app:v1`)).toBe(
      expectedOutput,
    );
    await engine.docker('rmi', `${reg}/alice/app:v1`);
    const byDigest = `${reg}/alice/copy@${appDigest}`;
    images.add(byDigest);
    const out = await engine.docker('pull', byDigest);
    expect(out).toContain(`Digest: ${appDigest}`);
    expect(await engine.docker('run', '--rm', '--network', 'none', byDigest)).toBe(expectedOutput);
  });

  it('docker manifest inspect reads the manifest (the CLI trusts the CA too)', async () => {
    const out = await engine.docker('manifest', 'inspect', `${reg}/alice/app:v1`);
    const manifest = JSON.parse(out);
    expect(manifest.mediaType).toBe(DOCKER_MANIFEST);
    expect(manifest.layers).toHaveLength(4);
    expect(manifest).toEqual((await storedManifest('alice/app', 'v1')).manifest);
  });

  it('logs in with an API key instead of the password', async () => {
    await engine.docker('logout', reg);
    const r = await login(alice.username, alice.key);
    expect(r.stdout + r.stderr).toContain('Login Succeeded');
    await engine.docker('tag', `${reg}/alice/copy@${appDigest}`, `${reg}/alice/app:v2`);
    expect(await push(`${reg}/alice/app:v2`)).toBe(appDigest);
  });

  it('after logout, pulls a public repository anonymously and is refused a private one', async () => {
    const pub = `${reg}/alice/public:v1`;
    await engine.docker('tag', `${reg}/alice/app:v2`, pub);
    await push(pub);
    await engine.docker('logout', reg);
    await engine.docker('rmi', pub, `${reg}/alice/app:v2`);
    await engine.docker('pull', pub);
    expect(await engine.docker('run', '--rm', '--network', 'none', pub)).toBe(expectedOutput);
    const refused = await dockerFails('pull', `${reg}/alice/app:v1`);
    // docker's own wording for a repository it may not see.
    expect(refused).toMatch(
      /pull access denied for [^,]+alice\/app, repository does not exist or may require 'docker login'/,
    );
  });

  it("refuses a push to someone else's repository with docker's denied message", async () => {
    expect((await login(bob.username, bob.password)).code).toBe(0);
    const target = `${reg}/alice/app:from-bob`;
    await engine.docker('tag', `${reg}/alice/public:v1`, target);
    images.add(target);
    const refused = await dockerFails('push', target);
    expect(refused).toMatch(/denied: requested access to the resource is denied/);
    // Nothing was written.
    const res = await request(`${server.url}/v2/alice/app/manifests/from-bob`, {
      ca: pki.ca,
      method: 'HEAD',
      headers: {
        authorization: `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}`,
      },
    });
    expect(res.status).toBe(404);
    await engine.docker('logout', reg);
  });

  it('a pull-only robot account logs in with its key, pulls, and is refused for push', async () => {
    const robot = await api('POST', '/namespaces/alice/robots', {
      basic: [alice.username, alice.password],
      body: { name: 'ci', grants: [{ repository: 'app', level: 'read' }] },
    });
    const r = await login('alice+ci', robot.key);
    expect(r.stdout + r.stderr).toContain('Login Succeeded');
    const out = await engine.docker('pull', `${reg}/alice/app:v1`);
    expect(out).toContain(`${reg}/alice/app:v1`);
    const target = `${reg}/alice/app:from-robot`;
    await engine.docker('tag', `${reg}/alice/public:v1`, target);
    images.add(target);
    images.add(`${reg}/alice/app:v1`);
    const refused = await dockerFails('push', target);
    expect(refused).toMatch(/denied: requested access to the resource is denied/);
    await engine.docker('logout', reg);
  });

  it('runs 6 pushes at once of images that share their layers', async () => {
    expect((await login(alice.username, alice.key)).code).toBe(0);
    // A shared layer Aerugo has not seen yet, so that all six upload it at the same time.
    const shared = `aerugo-test/shared:${id}`;
    await buildImage(engine, shared, `FROM ${reg}/alice/public:v1\nCOPY shared.bin /shared.bin\n`, {
      'shared.bin': randomBytes(512 * 1024),
    });
    images.add(shared);
    const refs = Array.from({ length: 6 }, (_, i) => `${reg}/alice/parallel-${i}:v1`);
    for (const [i, ref] of refs.entries()) {
      await buildImage(engine, ref, `FROM ${shared}\nCOPY id /id\n`, { id: `${i}\n` });
      images.add(ref);
    }
    const digests = await Promise.all(refs.map((ref) => push(ref)));
    const layerSets = [];
    for (const [i, digest] of digests.entries()) {
      const stored = await storedManifest(`alice/parallel-${i}`, 'v1');
      expect(stored.digest).toBe(digest);
      expect(stored.manifest.layers).toHaveLength(6);
      layerSets.push(stored.manifest.layers.slice(0, 5).map((l: { digest: string }) => l.digest));
    }
    // The five lower layers are the same blobs in every repository.
    for (const set of layerSets) expect(set).toEqual(layerSets[0]);
    for (const ref of refs) await engine.docker('rmi', ref);
    for (const [i, ref] of refs.entries()) {
      await engine.docker('pull', ref);
      expect(await engine.docker('run', '--rm', '--network', 'none', ref, 'cat', '/id')).toBe(
        `${i}\n`,
      );
    }
  });

  it("runs the README's quick-start docker and skopeo examples as written", async () => {
    // The README's commands, for a server on another port than 8080 and files in a temp folder.
    const admin = { ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'choose-a-long-password' };
    const plain = await startServer({ env: admin });
    const tmp = tempDir('aerugo-readme-');
    try {
      const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
      const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
      const start = blocks.find((b) => b.includes('npm start') && b.includes('ADMIN_PASSWORD'));
      expect(start).toContain(`ADMIN_USERNAME=${admin.ADMIN_USERNAME}`);
      expect(start).toContain(`ADMIN_PASSWORD='${admin.ADMIN_PASSWORD}'`);
      const examples = [blocks.find((b) => b.includes('docker load'))];
      if (skopeoAvailable()) examples.push(blocks.find((b) => b.includes('skopeo copy')));
      for (const block of examples) {
        expect(block).toBeDefined();
        for (const line of block!.split('\n').filter((l) => l.trim())) {
          const command = line
            .replaceAll('localhost:8080', `localhost:${plain.port}`)
            .replace(/\/tmp\//g, `${tmp}/`);
          const r = await runCommand('sh', ['-c', command], {
            env: { ...engine.env, REGISTRY_AUTH_FILE: join(tmp, 'auth.json') },
            cwd: PROJECT_ROOT,
          });
          expect({ line, code: r.code, out: r.code ? r.stderr + r.stdout : '' }).toEqual({
            line,
            code: 0,
            out: '',
          });
        }
      }
      images.add(`localhost:${plain.port}/admin/app:v1`);
    } finally {
      await plain.stop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
