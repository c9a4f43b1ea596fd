import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { describeIfSkopeo, mkimage, skopeo } from '../support/skopeo.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import {
  ADMIN,
  api,
  type Json,
  ok,
  registerAndLogin,
  registryToken,
  type TestUser,
} from './identity-support.js';

/**
 * Robot accounts through the management API (who may manage them, what the answers hold, names
 * that cannot collide with users) and through skopeo: a pull-only robot pulls and is refused for
 * push, a disabled or deleted robot is refused.
 */
const maybe = describeIfSkopeo() ? describe : describe.skip;

maybe('robot accounts', () => {
  let server: TestServer;
  let host: string;
  let alice: TestUser;
  let bob: TestUser;
  let robot: Json;
  const src = tempDir('aerugo-robot-img-');
  const authfile = join(tempDir('aerugo-robot-auth-'), 'auth.json');

  async function refused(...args: string[]): Promise<string> {
    try {
      await skopeo(...args);
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toMatch(/\b(401|403)\b|unauthorized|denied|authentication required/i);
      expect(msg).not.toMatch(/\b5\d\d\b|internal server error|connection refused/i);
      return msg;
    }
    throw new Error(`skopeo ${args.join(' ')} succeeded but should have been refused`);
  }

  const pull = (repo: string, creds: string) =>
    skopeo(
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      creds,
      `docker://${host}/${repo}`,
      `oci:${tempDir('aerugo-robot-pull-')}:x`,
    );
  const pushArgs = (repo: string, creds: string) => [
    'copy',
    '--dest-tls-verify=false',
    '--dest-creds',
    creds,
    `oci:${src}:v1`,
    `docker://${host}/${repo}`,
  ];

  beforeAll(async () => {
    writeFileSync(authfile, '{}');
    server = await startServer({
      env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
    });
    host = `127.0.0.1:${server.port}`;
    alice = await registerAndLogin(server.url, 'alice');
    bob = await registerAndLogin(server.url, 'bob');
    await ok(server.url, 'POST', '/orgs', {
      auth: { bearer: alice.accessToken },
      body: { name: 'acme' },
    });
    await ok(server.url, 'POST', '/orgs/acme/members', {
      auth: { bearer: alice.accessToken },
      body: { username: 'bob', role: 'member' },
    });
    await mkimage(src, 'v1', '256k');
    await skopeo(...pushArgs('acme/web/app:v1', `alice:${alice.password}`));
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("is created by the namespace's administrators only, with its key shown once", async () => {
    const body = { name: 'ci', grants: [{ repository: 'web/*', level: 'read' }] };
    const byMember = await api(server.url, 'POST', '/namespaces/acme/robots', {
      auth: { bearer: bob.accessToken },
      body,
    });
    expect(byMember.status).toBe(403);
    robot = await ok(server.url, 'POST', '/namespaces/acme/robots', {
      auth: { bearer: alice.accessToken },
      body,
    });
    expect(robot).toMatchObject({
      name: 'ci',
      fullName: 'acme+ci',
      namespace: 'acme',
      grants: [{ repository: 'acme/web/*', level: 'read' }],
      disabled: false,
      expiresAt: null,
      lastUsedAt: null,
    });
    expect(robot.key).toMatch(/^ak_[A-Za-z0-9]{32}$/);
    const again = await api(server.url, 'POST', '/namespaces/acme/robots', {
      auth: { bearer: alice.accessToken },
      body,
    });
    expect(again.status).toBe(409);
    for (const bad of [
      { ...body, name: 'a+b' },
      { ...body, grants: [{ repository: 'Web/**/x y', level: 'read' }] },
      { ...body, name: 'x', grants: [{ repository: 'web/*', level: 'owner' }] },
    ])
      expect(
        (
          await api(server.url, 'POST', '/namespaces/acme/robots', {
            auth: { bearer: alice.accessToken },
            body: bad,
          })
        ).status,
      ).toBe(400);
    expect(
      (
        await api(server.url, 'GET', '/namespaces/acme/robots', {
          auth: { bearer: bob.accessToken },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(server.url, 'GET', '/namespaces/nobody-here/robots', {
          auth: { bearer: alice.accessToken },
        })
      ).status,
    ).toBe(404);
    // A user's own namespace has robots too.
    const mine = await ok(server.url, 'POST', '/namespaces/alice/robots', {
      auth: { bearer: alice.accessToken },
      body: { name: 'bot', grants: [{ repository: 'alice/*', level: 'write' }] },
    });
    expect(mine.fullName).toBe('alice+bot');
  });

  it('cannot use the management API nor sign in interactively', async () => {
    for (const auth of [
      { apiKey: robot.key as string },
      { basic: ['acme+ci', robot.key] as [string, string] },
    ]) {
      const r = await api(server.url, 'GET', '/users/me', { auth });
      expect(r.status).toBe(403);
    }
    const login = await api(server.url, 'POST', '/auth/login', {
      body: { username: 'acme+ci', password: robot.key },
    });
    expect(login.status).toBe(401);
    // Its name belongs to nobody else: no user can register it.
    const register = await api(server.url, 'POST', '/auth/register', {
      body: { username: 'acme+ci', password: 'some-password-1' },
    });
    expect(register.status).toBe(400);
    // And it cannot be made an organization member.
    const member = await api(server.url, 'POST', '/orgs/acme/members', {
      auth: { bearer: alice.accessToken },
      body: { username: 'acme+ci', role: 'member' },
    });
    expect([400, 404]).toContain(member.status);
  });

  it('pulls with skopeo and is refused for push (pull-only grant)', async () => {
    await skopeo(
      'login',
      '--tls-verify=false',
      '--authfile',
      authfile,
      '-u',
      'acme+ci',
      '-p',
      robot.key,
      host,
    );
    await pull('acme/web/app:v1', `acme+ci:${robot.key}`);
    const msg = await refused(...pushArgs('acme/web/app:v2', `acme+ci:${robot.key}`));
    expect(msg).toMatch(/denied|403|unauthorized/i);
    const token = await registryToken(server.url, ['repository:acme/web/app:pull,push'], {
      basic: ['acme+ci', robot.key],
    });
    expect(token.status).toBe(200);
    const claims = JSON.parse(Buffer.from(token.token!.split('.')[1], 'base64url').toString());
    expect(claims.access).toEqual([
      { type: 'repository', name: 'acme/web/app', actions: ['pull'] },
    ]);
    expect(claims.name).toBe('acme+ci');
    const wrongName = await registryToken(server.url, ['repository:acme/web/app:pull'], {
      basic: ['acme+other', robot.key],
    });
    expect(wrongName.status).toBe(401);
  });

  it('is listed with its last use; disabled, enabled and deleted by an administrator', async () => {
    const listed = await ok(server.url, 'GET', '/namespaces/acme/robots', {
      auth: { bearer: alice.accessToken },
    });
    expect(listed.map((r: Json) => r.fullName)).toEqual(['acme+ci']);
    expect(listed[0].lastUsedAt).not.toBeNull();
    expect(listed[0]).not.toHaveProperty('key');

    const disabled = await ok(server.url, 'PATCH', '/namespaces/acme/robots/ci', {
      auth: { bearer: alice.accessToken },
      body: { disabled: true },
    });
    expect(disabled.disabled).toBe(true);
    await refused(
      'inspect',
      '--tls-verify=false',
      '--creds',
      `acme+ci:${robot.key}`,
      `docker://${host}/acme/web/app:v1`,
    );
    await ok(server.url, 'PATCH', '/namespaces/acme/robots/ci', {
      auth: { bearer: alice.accessToken },
      body: { disabled: false },
    });
    await pull('acme/web/app:v1', `acme+ci:${robot.key}`);
    expect(
      (
        await api(server.url, 'PATCH', '/namespaces/acme/robots/ci', {
          auth: { bearer: bob.accessToken },
          body: { disabled: true },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(server.url, 'DELETE', '/namespaces/acme/robots/ci', {
          auth: { bearer: alice.accessToken },
        })
      ).status,
    ).toBe(204);
    await refused(
      'inspect',
      '--tls-verify=false',
      '--creds',
      `acme+ci:${robot.key}`,
      `docker://${host}/acme/web/app:v1`,
    );
    expect(
      (
        await api(server.url, 'DELETE', '/namespaces/acme/robots/ci', {
          auth: { bearer: alice.accessToken },
        })
      ).status,
    ).toBe(404);
  });

  it('of a reserved namespace are managed by system administrators; to others it is absent', async () => {
    const admin = { basic: [ADMIN.username, ADMIN.password] as [string, string] };
    // A repository a system administrator creates under a name nobody holds reserves the name.
    await ok(server.url, 'POST', '/repos', {
      auth: admin,
      body: { namespace: 'library', name: 'base', visibility: 'private' },
    });
    const body = { name: 'ci', grants: [{ repository: 'base', level: 'read' }] };
    for (const path of ['/namespaces/library/robots', '/namespaces/nobody/robots'])
      expect(
        (await api(server.url, 'GET', path, { auth: { bearer: alice.accessToken } })).status,
      ).toBe(404);
    expect(
      (
        await api(server.url, 'POST', '/namespaces/library/robots', {
          auth: { bearer: alice.accessToken },
          body,
        })
      ).status,
    ).toBe(404);
    expect(
      (await api(server.url, 'GET', '/namespaces/nobody/robots', { auth: admin })).status,
    ).toBe(404);
    const created = await ok(server.url, 'POST', '/namespaces/library/robots', {
      auth: admin,
      body,
    });
    expect(created).toMatchObject({
      fullName: 'library+ci',
      grants: [{ repository: 'library/base', level: 'read' }],
    });
    const listed = await ok(server.url, 'GET', '/namespaces/library/robots', { auth: admin });
    expect(listed.map((r: Json) => r.fullName)).toEqual(['library+ci']);
  });
});
