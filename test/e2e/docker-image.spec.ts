import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { TEST_ADMIN, basicHeader } from '../support/registry.js';
import { createTestDatabase, freePort } from '../support/server.js';
import {
  buildImage,
  describeIfDocker,
  importBase,
  startDocker,
  waitHealthy,
  type DockerEngine,
} from '../support/docker.js';
import { rootfsMissing } from '../support/rootfs.js';
import { PROJECT_ROOT } from '../support/test-env.js';

function runnable(): boolean {
  if (!describeIfDocker()) return false;
  const missing = rootfsMissing('node-build');
  if (!missing) return true;
  if (process.env.CI === 'true') throw new Error(`the Docker image test needs ${missing} in CI`);
  console.warn(`skipping the Docker image test: it needs ${missing}`);
  return false;
}

const maybe = runnable() ? describe : describe.skip;

/**
 * The project's Dockerfile, built and run. Its base images are stand-ins for node:20-bookworm and
 * node:20-bookworm-slim made from this machine's Node (no registry is reachable; see
 * test/support/rootfs.ts), passed as the NODE_BUILD_IMAGE and NODE_IMAGE build arguments.
 */
maybe('the Aerugo Docker image', () => {
  let engine: DockerEngine;
  const id = randomBytes(4).toString('hex');
  const nodeImage = `aerugo-test/node:${process.version.slice(1)}-slim-${id}`;
  const toolchainImage = `aerugo-test/node:${process.version.slice(1)}-${id}`;
  const image = `aerugo-test/aerugo:${id}`;
  const busybox = `aerugo-test/busybox:${id}`;
  const containers: string[] = [];
  const volumes: string[] = [];
  let built = '';

  beforeAll(async () => {
    engine = await startDocker();
    await importBase(engine, 'node-build', toolchainImage);
    await importBase(engine, 'node', nodeImage);
    await importBase(engine, 'busybox', busybox);
    built = await engine.docker(
      'build',
      '--network',
      'host',
      '--build-arg',
      `NODE_BUILD_IMAGE=${toolchainImage}`,
      '--build-arg',
      `NODE_IMAGE=${nodeImage}`,
      '-t',
      image,
      PROJECT_ROOT,
    );
  }, 1_200_000);

  afterAll(async () => {
    if (!engine) return;
    for (const c of containers) await engine.tryDocker(['rm', '-f', c]);
    for (const v of volumes) await engine.tryDocker(['volume', 'rm', '-f', v]);
    await engine.tryDocker(['rmi', '-f', image, nodeImage, toolchainImage, busybox]);
    await engine.stop();
  }, 120_000);

  /** Starts the image with `env` (host network, health checked every 2 s); returns its id. */
  async function runAerugo(env: Record<string, string>, ...extra: string[]): Promise<string> {
    const c = (
      await engine.docker(
        'run',
        '-d',
        '--network',
        'host',
        '--health-interval',
        '2s',
        ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
        ...extra,
        image,
      )
    ).trim();
    containers.push(c);
    await waitHealthy(engine, c);
    return c;
  }

  /** Pushes a small busybox-based image to registry host `reg`, returns the pushed digest. */
  async function pushApp(reg: string, repo: string): Promise<{ ref: string; digest: string }> {
    const ref = `${reg}/${repo}:v1`;
    await buildImage(engine, ref, `FROM ${busybox}\nCOPY hello /hello\nCMD ["cat", "/hello"]\n`, {
      hello: `hello from ${repo}\n`,
    });
    const out = await engine.docker('push', ref);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1];
    expect(digest).toBeDefined();
    return { ref, digest: digest! };
  }

  async function login(reg: string) {
    const r = await engine.tryDocker(
      ['login', '-u', TEST_ADMIN.username, '--password-stdin', reg],
      TEST_ADMIN.password,
    );
    expect(r.stdout).toContain('Login Succeeded');
  }

  it('is built from NODE_IMAGE without the toolchain image, and runs as the unprivileged node user', async () => {
    expect(built).toMatch(/Successfully built|writing image/);
    const user = (await engine.docker('inspect', '-f', '{{.Config.User}}', image)).trim();
    expect(user).toBe('node');
    const health = await engine.docker('inspect', '-f', '{{json .Config.Healthcheck.Test}}', image);
    expect(JSON.parse(health)).toEqual(['CMD', 'node', 'scripts/healthcheck.mjs']);
  });

  it('becomes healthy on an external PostgreSQL, and docker pushes and pulls through it', async () => {
    const port = await freePort();
    const reg = `127.0.0.1:${port}`;
    const c = await runAerugo({
      DATABASE_URL: await createTestDatabase(),
      LISTEN_ADDRESS: reg,
      ADMIN_USERNAME: TEST_ADMIN.username,
      ADMIN_PASSWORD: TEST_ADMIN.password,
    });
    // The server process is not root.
    expect((await engine.docker('exec', c, 'node', '-p', 'process.getuid()')).trim()).toBe('1000');
    // The image carries the web UI: its page at `/` and any app route, its assets beside it.
    const page = await fetch(`http://${reg}/repo/img/app`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="root">');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect((await fetch(`http://${reg}${script}`)).status).toBe(200);
    await login(reg);
    const { ref, digest } = await pushApp(reg, 'img/app');
    // Over plain HTTP, `docker manifest inspect` (the CLI's own registry client, which does not
    // treat loopback as insecure the way the daemon does) needs --insecure.
    const plain = await engine.tryDocker(['manifest', 'inspect', ref]);
    expect(plain.code).not.toBe(0);
    // (docker 20.10 names the cause; newer CLIs just say "no such manifest").
    expect(plain.stderr).toMatch(/server gave HTTP response to HTTPS client|no such manifest/);
    const inspected = JSON.parse(await engine.docker('manifest', 'inspect', '--insecure', ref));
    expect(inspected.layers).toHaveLength(2);
    await engine.docker('rmi', ref);
    await engine.docker('pull', `${reg}/img/app@${digest}`);
    const out = await engine.docker('run', '--rm', '--network', 'none', `${reg}/img/app@${digest}`);
    expect(out).toBe('hello from img/app\n');
    await engine.docker('rmi', `${reg}/img/app@${digest}`);
    await engine.docker('logout', reg);
  });

  it('runs the embedded PostgreSQL by default, keeping the data in the DATA_DIR volume', async () => {
    const volume = `aerugo-test-data-${id}`;
    volumes.push(volume);
    const port = await freePort();
    const reg = `127.0.0.1:${port}`;
    const env = {
      LISTEN_ADDRESS: reg,
      ADMIN_USERNAME: TEST_ADMIN.username,
      ADMIN_PASSWORD: TEST_ADMIN.password,
    };
    const first = await runAerugo(env, '-v', `${volume}:/data`);
    expect(await engine.docker('logs', first)).toContain('Embedded PostgreSQL listening');
    await login(reg);
    const { ref, digest } = await pushApp(reg, 'embedded/app');
    await engine.docker('rmi', ref);
    await engine.docker('rm', '-f', first);
    // A new container on the same volume still has the repository, the tag and the blobs.
    await runAerugo(env, '-v', `${volume}:/data`);
    const res = await fetch(`http://${reg}/v2/embedded/app/manifests/v1`, {
      method: 'HEAD',
      headers: {
        authorization: basicHeader(TEST_ADMIN.username, TEST_ADMIN.password),
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    await engine.docker('pull', ref);
    expect(await engine.docker('run', '--rm', '--network', 'none', ref)).toBe(
      'hello from embedded/app\n',
    );
    await engine.docker('rmi', ref);
    await engine.docker('logout', reg);
  });
});
