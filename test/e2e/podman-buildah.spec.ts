import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../support/docker.js';
import { rootfsMissing, withRootfsTar } from '../support/rootfs.js';
import { freePort, startServer, tempDir, type TestServer } from '../support/server.js';
import { mkimage } from '../support/skopeo.js';
import {
  apiCall,
  issueServerCert,
  makeTestPki,
  opensslAvailable,
  request,
  type TestPki,
} from '../support/tls.js';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

function missing(): string | undefined {
  for (const tool of ['podman', 'buildah'])
    if (!['/usr/bin', '/usr/local/bin'].some((d) => existsSync(join(d, tool))))
      return `${tool} (apt-get install -y podman buildah)`;
  if (!opensslAvailable()) return 'openssl';
  if (process.getuid?.() !== 0) return 'root (containers/storage in a private folder)';
  return rootfsMissing('busybox');
}

function runnable(): boolean {
  const what = missing();
  if (!what) return true;
  if (process.env.CI === 'true')
    throw new Error(`the podman and buildah suite needs ${what} in CI`);
  console.warn(`skipping the podman and buildah tests: they need ${what}`);
  return false;
}

/**
 * podman and buildah against Aerugo over HTTPS, verifying the certificate against the suite's
 * CA (`--cert-dir`). Both use containers/storage in a private folder and a private auth file.
 */
(runnable() ? describe : describe.skip)('podman and buildah against Aerugo over TLS', () => {
  let pki: TestPki;
  let server: TestServer;
  let reg: string;
  const work = tempDir('aerugo-podman-');
  const certDir = join(work, 'certs');
  const authFile = join(work, 'auth.json');
  const storage = [
    '--root',
    join(work, 'storage'),
    '--runroot',
    join(work, 'run'),
    '--storage-driver',
    'overlay',
  ];
  const podmanGlobal = [
    ...storage,
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
    '--tmpdir',
    join(work, 'tmp'),
    '--network-config-dir',
    join(work, 'networks'),
  ];
  // podman and buildah create these for their network backend even with private storage; the
  // suite removes the ones it created.
  const systemDirs = ['/etc/containers/networks', '/run/containers'].filter((d) => !existsSync(d));
  const id = randomBytes(4).toString('hex');
  const base = `localhost/aerugo-test/busybox:${id}`;
  const alice = { username: 'alice', password: 'alice-password-1', key: '' };

  async function tool(name: 'podman' | 'buildah', args: string[], input?: string) {
    const global = name === 'podman' ? podmanGlobal : storage;
    return runCommand(name, [...global, ...args], {
      input,
      env: { ...process.env, REGISTRY_AUTH_FILE: authFile },
    });
  }

  async function ok(name: 'podman' | 'buildah', ...args: string[]): Promise<string> {
    const r: CommandResult = await tool(name, args);
    if (r.code !== 0) throw new Error(`${name} ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }
  const podman = (...args: string[]) => ok('podman', ...args);
  const buildah = (...args: string[]) => ok('buildah', ...args);
  /** The registry flags: verify the certificate against the suite's CA. */
  const tls = ['--cert-dir', certDir, '--tls-verify=true'];
  // podman sets rlimits this machine's limits do not allow: ask for modest ones.
  const runFlags = [
    '--rm',
    '--network',
    'none',
    '--ulimit',
    'nofile=1024:1024',
    '--ulimit',
    'nproc=1024:1024',
  ];

  const basic = () =>
    `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}`;

  beforeAll(async () => {
    mkdirSync(join(work, 'pki'));
    pki = await makeTestPki(join(work, 'pki'));
    const cert = await issueServerCert(pki, 'registry', ['127.0.0.1', 'localhost']);
    for (const d of [certDir, join(work, 'tmp')]) mkdirSync(d, { recursive: true });
    copyFileSync(pki.caFile, join(certDir, 'ca.crt'));
    const port = await freePort();
    server = await startServer({ port, tls: { ...cert, ca: pki.ca } });
    reg = `127.0.0.1:${port}`;
    await apiCall(server.url, pki.ca, 'POST', '/auth/register', {
      body: { username: alice.username, password: alice.password },
    });
    const b: [string, string] = [alice.username, alice.password];
    alice.key = (
      await apiCall(server.url, pki.ca, 'POST', '/api-keys', { basic: b, body: { name: 'podman' } })
    ).key;
    await apiCall(server.url, pki.ca, 'POST', '/repos', {
      basic: b,
      body: { namespace: 'alice', name: 'public', visibility: 'public' },
    });
    await withRootfsTar('busybox', (tar) => podman('import', tar, base));
  }, 300_000);

  afterAll(async () => {
    await runCommand('podman', [...podmanGlobal, 'system', 'reset', '--force']).catch(
      () => undefined,
    );
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m?.startsWith(`${work}/`))
      .reverse();
    for (const m of mounts) await runCommand('umount', [m]);
    rmSync(work, { recursive: true, force: true });
    for (const d of systemDirs) rmSync(d, { recursive: true, force: true });
    await server?.stop();
  }, 120_000);

  it('podman: refuses the certificate without the CA, logs in with it', async () => {
    const refused = await tool(
      'podman',
      ['login', '-u', alice.username, '--password-stdin', reg],
      alice.password,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/x509: certificate signed by unknown authority/);
    const r = await tool(
      'podman',
      ['login', ...tls, '-u', alice.username, '--password-stdin', reg],
      alice.password,
    );
    expect(r.stdout).toContain('Login Succeeded');
  });

  it('podman: builds, pushes, pushes again to a second repository, pulls after rmi and runs', async () => {
    const ctx = join(work, 'ctx');
    mkdirSync(ctx);
    writeFileSync(
      join(ctx, 'Containerfile'),
      `FROM ${base}\nCOPY greeting /greeting\nRUN echo built by podman >> /greeting\nCMD ["cat", "/greeting"]\n`,
    );
    writeFileSync(join(ctx, 'greeting'), 'hello from podman\n');
    const ref = `${reg}/alice/podman:v1`;
    await podman('build', '--network', 'host', '-t', ref, ctx);
    await podman('push', ...tls, ref);
    const second = `${reg}/alice/podman-copy:v1`;
    await podman('tag', ref, second);
    await podman('push', ...tls, second);
    await podman('rmi', ref, second);
    await podman('pull', ...tls, ref);
    expect(await podman('run', ...runFlags, ref)).toBe('hello from podman\nbuilt by podman\n');
    // Both repositories hold the same manifest.
    const [a, b] = await Promise.all(
      ['podman', 'podman-copy'].map((r) =>
        request(`${server.url}/v2/alice/${r}/manifests/v1`, {
          ca: pki.ca,
          method: 'HEAD',
          headers: {
            authorization: basic(),
            accept:
              'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
          },
        }),
      ),
    );
    expect(a.status).toBe(200);
    expect(b.headers['docker-content-digest']).toBe(a.headers['docker-content-digest']);
  });

  it('podman manifest push --all: a two-platform index, then one platform pulled from it', async () => {
    const layout = join(work, 'multi');
    await mkimage(layout, 'amd64', '64k', '--platform', 'linux/amd64');
    await mkimage(layout, 'arm64', '64k', '--platform', 'linux/arm64');
    const list = `localhost/aerugo-test/multi:${id}`;
    await podman('manifest', 'create', list);
    await podman('manifest', 'add', list, `oci:${layout}:amd64`);
    await podman('manifest', 'add', list, `oci:${layout}:arm64`);
    const digestFile = join(work, 'multi.digest');
    await podman(
      'manifest',
      'push',
      '--all',
      '--digestfile',
      digestFile,
      ...tls,
      list,
      `docker://${reg}/alice/multi:v1`,
    );
    const get = (ref: string, accept: string) =>
      request(`${server.url}/v2/alice/multi/manifests/${ref}`, {
        ca: pki.ca,
        headers: { authorization: basic(), accept },
      });
    const res = await get('v1', `${OCI_INDEX}, ${DOCKER_LIST}`);
    expect(res.status).toBe(200);
    expect(res.headers['docker-content-digest']).toBe(readFileSync(digestFile, 'utf8').trim());
    const index = JSON.parse(res.body);
    const platforms = index.manifests.map(
      (m: { platform: { architecture: string } }) => m.platform.architecture,
    );
    expect(platforms.sort()).toEqual(['amd64', 'arm64']);
    // --all pushed both images: each entry is there, with its layers.
    for (const entry of index.manifests) {
      const child = await get(entry.digest, `${entry.mediaType}`);
      expect(child.status).toBe(200);
      expect(JSON.parse(child.body).layers).toHaveLength(1);
    }
    await podman('pull', ...tls, '--arch', 'arm64', `${reg}/alice/multi:v1`);
    const arch = await podman(
      'image',
      'inspect',
      '--format',
      '{{.Architecture}}',
      `${reg}/alice/multi:v1`,
    );
    expect(arch.trim()).toBe('arm64');
  });

  it('podman: after logout, pulls a public repository anonymously and is refused a private one', async () => {
    const pub = `${reg}/alice/public:v1`;
    await podman('tag', `${reg}/alice/podman:v1`, pub);
    await podman('push', ...tls, pub);
    await podman('logout', reg);
    await podman('rmi', pub);
    await podman('pull', ...tls, pub);
    const refused = await tool('podman', ['pull', ...tls, `${reg}/alice/podman-copy:v1`]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/denied: requested access to the resource is denied/);
  });

  it('buildah: logs in with an API key, builds from a local base, pushes, pulls back', async () => {
    const r = await tool(
      'buildah',
      ['login', ...tls, '-u', alice.username, '--password-stdin', reg],
      alice.key,
    );
    expect(r.stdout).toContain('Login Succeeded');
    const ctr = (await buildah('from', '--pull=never', base)).trim();
    const file = join(work, 'buildah.txt');
    writeFileSync(file, 'made by buildah\n');
    await buildah('copy', ctr, file, '/buildah.txt');
    await buildah('config', '--cmd', 'cat /buildah.txt', ctr);
    const ref = `${reg}/alice/buildah:v1`;
    await buildah('commit', ctr, ref);
    await buildah('rm', ctr);
    await buildah('push', ...tls, ref);
    await buildah('rmi', ref);
    await buildah('pull', ...tls, ref);
    const again = (await buildah('from', '--pull=never', ref)).trim();
    const mount = (await buildah('mount', again)).trim();
    expect(readFileSync(join(mount, 'buildah.txt'), 'utf8')).toBe('made by buildah\n');
    await buildah('umount', again);
    await buildah('rm', again);
    await buildah('logout', reg);
  });
});
