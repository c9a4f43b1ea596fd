import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { redisRequired, TEST_REDIS_URL } from '../support/redis.js';
import { RegistryClient, waitFor } from '../support/registry.js';
import {
  createTestDatabase,
  freePort,
  startServer,
  tempDir,
  type TestServer,
} from '../support/server.js';
import {
  ADMIN,
  api,
  type Auth,
  basicHeader,
  type Json,
  ok,
  registryErrorCode,
  registryToken,
} from './identity-support.js';

const REDIS_URL = TEST_REDIS_URL;
const withRedis = (await redisRequired()) ? describe : describe.skip;

const ROOT: Auth = { basic: [ADMIN.username, ADMIN.password] };
const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json';
const PER_ACCOUNT = 4;
const PER_ADDRESS = 6;
const REGISTRATIONS = 3;

/** GET of a manifest with the given headers; the status and the registry error code. */
async function pull(
  base: string,
  repo: string,
  headers: Record<string, string>,
): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${base}/v2/${repo}/manifests/v1`, {
    headers: { accept: MANIFEST_ACCEPT, ...headers },
  });
  if (res.status === 200) {
    await res.arrayBuffer();
    return { status: 200 };
  }
  return { status: res.status, code: await registryErrorCode(res) };
}

/** A pull through the Docker token flow: a token for the pull scope, then the manifest. */
async function tokenPull(
  base: string,
  repo: string,
  auth?: Auth,
): Promise<{ status: number; code?: string; granted: string[] }> {
  const t = await registryToken(base, [`repository:${repo}:pull`], auth);
  if (t.status !== 200) return { status: t.status, granted: [] };
  const claims = JSON.parse(Buffer.from(t.token!.split('.')[1], 'base64url').toString('utf8'));
  const granted: string[] = (claims.access as { name: string; actions: string[] }[])
    .filter((a) => a.name === repo)
    .flatMap((a) => a.actions);
  return { ...(await pull(base, repo, { authorization: `Bearer ${t.token}` })), granted };
}

function login(base: string, username: string, password: string, address: string) {
  return api(base, 'POST', '/auth/login', {
    body: { username, password },
    headers: { 'x-forwarded-for': address },
  });
}

withRedis('two nodes sharing PostgreSQL and Redis: permissions, keys and limits', () => {
  let a: TestServer;
  let b: TestServer;
  let db: pg.Client;
  let redis: Awaited<ReturnType<typeof connectRedis>>;
  let scope: string;
  let pusher: RegistryClient;
  const ids: Record<string, string> = {};

  async function connectRedis() {
    const { createClient } = await import('@keyv/redis');
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    return client;
  }

  /** Whether node-shared Redis holds the fact (key without `aerugo:acl:<scope>:`). */
  async function cached(fact: string): Promise<boolean> {
    return (await redis.exists(`aerugo:acl:${scope}:${fact}`)) === 1;
  }

  async function createUser(username: string): Promise<void> {
    const u = await ok(a.url, 'POST', '/users', {
      auth: ROOT,
      body: { username, password: `${username}-password` },
    });
    ids[username] = u.id;
  }

  const basicOf = (username: string) => ({
    authorization: basicHeader(username, `${username}-password`),
  });

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    const dataDir = tempDir();
    const env = {
      REDIS_URL,
      REDIS_TTL_SECONDS: '3600',
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      AUTH_RATE_LIMIT_PER_ACCOUNT: String(PER_ACCOUNT),
      AUTH_RATE_LIMIT_PER_ADDRESS: String(PER_ADDRESS),
      AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
      REGISTRATION_RATE_LIMIT_PER_ADDRESS: String(REGISTRATIONS),
      TRUST_PROXY: '1',
    };
    [a, b] = await Promise.all([
      startServer({ databaseUrl, dataDir, env }),
      startServer({ databaseUrl, dataDir, env }),
    ]);
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    scope = (await db.query(`SELECT value FROM auth_secrets WHERE name = 'cache-scope'`)).rows[0]
      .value;
    redis = await connectRedis();

    const key = await ok(a.url, 'POST', '/api-keys', { auth: ROOT, body: { name: 'pusher' } });
    pusher = new RegistryClient(a.url, { 'x-api-key': key.key });
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) await createUser(name);
    await ok(a.url, 'POST', '/orgs', { auth: ROOT, body: { name: 'acme' } });
    await ok(a.url, 'POST', '/orgs/acme/members', {
      auth: ROOT,
      body: { username: 'bob', role: 'member' },
    });
    await ok(a.url, 'POST', '/orgs/acme/members', {
      auth: ROOT,
      body: { username: 'carol', role: 'admin' },
    });
    await ok(a.url, 'POST', '/orgs/acme/teams', { auth: ROOT, body: { name: 'devs' } });
    await ok(a.url, 'PUT', '/orgs/acme/teams/devs/members/bob', { auth: ROOT });
    for (const repo of ['acme/granted', 'acme/visible', 'acme/team-app'])
      await pusher.pushImage(repo, 'v1', [`layer of ${repo}`]);
    await ok(a.url, 'PUT', '/repos/acme/granted/permissions', {
      auth: ROOT,
      body: { users: [{ username: 'alice', level: 'read' }], teams: [] },
    });
    await ok(a.url, 'PUT', '/repos/acme/team-app/permissions', {
      auth: ROOT,
      body: { users: [], teams: [{ team: 'devs', level: 'read' }] },
    });
  }, 180_000);

  afterAll(async () => {
    await redis?.quit().catch(() => undefined);
    await db?.end().catch(() => undefined);
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('repositories are private by default here', async () => {
    const repo = await ok(a.url, 'GET', '/repos/acme/granted', { auth: ROOT });
    expect(repo.visibility).toBe('private');
  });

  it('(a) a grant revoked on A refuses the very next pull on B, which had cached it', async () => {
    expect(await pull(b.url, 'acme/granted', basicOf('alice'))).toEqual({ status: 200 });
    expect(await tokenPull(b.url, 'acme/granted', { basic: ['alice', 'alice-password'] })).toEqual({
      status: 200,
      granted: ['pull'],
    });
    // B's decision came from facts now kept in the shared Redis ...
    expect(await cached('repo:acme/granted')).toBe(true);
    expect(await cached(`user:${ids.alice}`)).toBe(true);
    expect(await cached('ns:acme')).toBe(true);
    // ... and is served from there: a grant removed behind the application's back (no
    // invalidation) is still honoured, which only the cache can explain.
    await db.query(
      `DELETE FROM repository_user_permissions
        WHERE user_id = $1 AND repository_id = (SELECT id FROM repositories WHERE name = $2)`,
      [ids.alice, 'acme/granted'],
    );
    expect(await pull(b.url, 'acme/granted', basicOf('alice'))).toEqual({ status: 200 });
    // Restored, then revoked through node A's API: B refuses at once, on every path.
    await ok(a.url, 'PUT', '/repos/acme/granted/permissions', {
      auth: ROOT,
      body: { users: [{ username: 'alice', level: 'read' }], teams: [] },
    });
    expect(await pull(b.url, 'acme/granted', basicOf('alice'))).toEqual({ status: 200 });
    expect(await cached('repo:acme/granted')).toBe(true);
    await ok(a.url, 'PUT', '/repos/acme/granted/permissions', {
      auth: ROOT,
      body: { users: [], teams: [] },
    });
    expect(await pull(b.url, 'acme/granted', basicOf('alice'))).toEqual({
      status: 403,
      code: 'DENIED',
    });
    expect(await tokenPull(b.url, 'acme/granted', { basic: ['alice', 'alice-password'] })).toEqual({
      status: 403,
      code: 'DENIED',
      granted: [],
    });
  });

  it('(a) a registry token issued before the revocation stops working on B at once', async () => {
    await ok(a.url, 'PUT', '/repos/acme/granted/permissions', {
      auth: ROOT,
      body: { users: [{ username: 'alice', level: 'read' }], teams: [] },
    });
    const t = await registryToken(b.url, ['repository:acme/granted:pull'], {
      basic: ['alice', 'alice-password'],
    });
    expect(t.status).toBe(200);
    const bearer = { authorization: `Bearer ${t.token}` };
    expect(await pull(b.url, 'acme/granted', bearer)).toEqual({ status: 200 });
    await ok(a.url, 'PUT', '/repos/acme/granted/permissions', {
      auth: ROOT,
      body: { users: [], teams: [] },
    });
    // The token still carries `pull`, but the live (cached, invalidated) permission wins.
    expect(await pull(b.url, 'acme/granted', bearer)).toEqual({ status: 403, code: 'DENIED' });
  });

  it('(b) an API key revoked on A gets 401 on B at once, also through tokens made with it', async () => {
    const alice = await ok(a.url, 'POST', '/auth/login', {
      body: { username: 'alice', password: 'alice-password' },
      expect: 200,
    });
    const created = await ok(a.url, 'POST', '/api-keys', {
      auth: { bearer: alice.accessToken },
      body: { name: 'ci' },
    });
    const key: string = created.key;
    for (let i = 0; i < 2; i++) {
      expect((await ok(b.url, 'GET', '/auth/me', { auth: { apiKey: key } })).username).toBe(
        'alice',
      );
    }
    expect((await fetch(`${b.url}/v2/`, { headers: { 'x-api-key': key } })).status).toBe(200);
    const viaKey = await registryToken(b.url, ['repository:alice/app:pull'], {
      basic: ['alice', key],
    });
    expect(viaKey.status).toBe(200);
    const bearer = { authorization: `Bearer ${viaKey.token}` };
    expect((await fetch(`${b.url}/v2/`, { headers: bearer })).status).toBe(200);
    const hash = createHash('sha256').update(key).digest('hex');
    expect(await cached(`apikey:hash:${hash}`)).toBe(true);
    expect(await cached(`apikey:id:${created.id}`)).toBe(true);

    await ok(a.url, 'DELETE', `/api-keys/${created.id}`, { auth: { bearer: alice.accessToken } });
    expect((await api(b.url, 'GET', '/auth/me', { auth: { apiKey: key } })).status).toBe(401);
    expect((await fetch(`${b.url}/v2/`, { headers: { 'x-api-key': key } })).status).toBe(401);
    expect((await fetch(`${b.url}/v2/`, { headers: bearer })).status).toBe(401);
    expect(
      (await registryToken(b.url, ['repository:alice/app:pull'], { basic: ['alice', key] })).status,
    ).toBe(401);
    expect(await cached(`apikey:hash:${hash}`)).toBe(false);
  });

  it('(b) a robot narrowed, disabled or deleted on A is refused on B at once, also through its tokens', async () => {
    const robot = await ok(a.url, 'POST', '/namespaces/acme/robots', {
      auth: ROOT,
      body: { name: 'ci', grants: [{ repository: 'acme/*', level: 'read' }] },
    });
    const creds = { authorization: basicHeader('acme+ci', robot.key) };
    expect(await pull(b.url, 'acme/granted', creds)).toEqual({ status: 200 });
    expect(await cached('robots:acme')).toBe(true);
    const token = await registryToken(b.url, ['repository:acme/granted:pull'], {
      basic: ['acme+ci', robot.key],
    });
    const bearer = { authorization: `Bearer ${token.token}` };
    expect(await pull(b.url, 'acme/granted', bearer)).toEqual({ status: 200 });

    await ok(a.url, 'PATCH', '/namespaces/acme/robots/ci', {
      auth: ROOT,
      body: { grants: [{ repository: 'visible', level: 'read' }] },
    });
    expect(await pull(b.url, 'acme/granted', creds)).toMatchObject({ status: 403 });
    expect(await pull(b.url, 'acme/granted', bearer)).toMatchObject({ status: 403 });
    expect(await pull(b.url, 'acme/visible', creds)).toEqual({ status: 200 });

    await ok(a.url, 'PATCH', '/namespaces/acme/robots/ci', {
      auth: ROOT,
      body: { disabled: true },
    });
    expect(await pull(b.url, 'acme/visible', creds)).toMatchObject({ status: 401 });
    await ok(a.url, 'PATCH', '/namespaces/acme/robots/ci', {
      auth: ROOT,
      body: { disabled: false },
    });
    expect(await pull(b.url, 'acme/visible', creds)).toEqual({ status: 200 });

    await ok(a.url, 'DELETE', '/namespaces/acme/robots/ci', { auth: ROOT });
    expect(await pull(b.url, 'acme/visible', creds)).toMatchObject({ status: 401 });
    expect(await pull(b.url, 'acme/visible', bearer)).toMatchObject({ status: 401 });
  });

  it('(b) deactivating the owner on A stops their key on B at once', async () => {
    const erin = await ok(a.url, 'POST', '/auth/login', {
      body: { username: 'erin', password: 'erin-password' },
      expect: 200,
    });
    const created = await ok(a.url, 'POST', '/api-keys', {
      auth: { bearer: erin.accessToken },
      body: { name: 'laptop' },
    });
    expect((await api(b.url, 'GET', '/auth/me', { auth: { apiKey: created.key } })).status).toBe(
      200,
    );
    expect(await cached(`user:${ids.erin}`)).toBe(true);
    await ok(a.url, 'PATCH', '/users/erin', { auth: ROOT, body: { active: false } });
    expect((await api(b.url, 'GET', '/auth/me', { auth: { apiKey: created.key } })).status).toBe(
      401,
    );
    await ok(a.url, 'PATCH', '/users/erin', { auth: ROOT, body: { active: true } });
    expect((await api(b.url, 'GET', '/auth/me', { auth: { apiKey: created.key } })).status).toBe(
      200,
    );
  });

  it('(c) visibility changed on A applies to anonymous pulls on B at once, both ways', async () => {
    expect(await tokenPull(b.url, 'acme/visible')).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
      granted: [],
    });
    expect(await cached('repo:acme/visible')).toBe(true);
    await ok(a.url, 'PATCH', '/repos/acme/visible', { auth: ROOT, body: { visibility: 'public' } });
    expect(await tokenPull(b.url, 'acme/visible')).toEqual({ status: 200, granted: ['pull'] });
    expect(await pull(b.url, 'acme/visible', {})).toEqual({ status: 200 });

    expect(await tokenPull(b.url, 'acme/visible')).toEqual({ status: 200, granted: ['pull'] });
    expect(await cached('repo:acme/visible')).toBe(true);
    await ok(a.url, 'PATCH', '/repos/acme/visible', {
      auth: ROOT,
      body: { visibility: 'private' },
    });
    expect(await tokenPull(b.url, 'acme/visible')).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
      granted: [],
    });
    expect((await pull(b.url, 'acme/visible', {})).status).toBe(401);
  });

  it('(d) a team membership removed on A takes the team grant away on B at once', async () => {
    expect(await pull(b.url, 'acme/team-app', basicOf('bob'))).toEqual({ status: 200 });
    expect(await cached(`user:${ids.bob}`)).toBe(true);
    await ok(a.url, 'DELETE', '/orgs/acme/teams/devs/members/bob', { auth: ROOT });
    expect(await pull(b.url, 'acme/team-app', basicOf('bob'))).toEqual({
      status: 403,
      code: 'DENIED',
    });
    expect(
      (await tokenPull(b.url, 'acme/team-app', { basic: ['bob', 'bob-password'] })).granted,
    ).toEqual([]);
  });

  it('(d) an organization role lowered on A takes the implied rights away on B at once', async () => {
    expect(await pull(b.url, 'acme/team-app', basicOf('carol'))).toEqual({ status: 200 });
    expect(
      (await tokenPull(b.url, 'acme/team-app', { basic: ['carol', 'carol-password'] })).granted,
    ).toEqual(['pull']);
    await ok(a.url, 'PATCH', '/orgs/acme/members/carol', { auth: ROOT, body: { role: 'member' } });
    expect(await pull(b.url, 'acme/team-app', basicOf('carol'))).toEqual({
      status: 403,
      code: 'DENIED',
    });
  });

  it('(d) a team deleted on A takes its grants away on B at once', async () => {
    await ok(a.url, 'POST', '/orgs/acme/members', {
      auth: ROOT,
      body: { username: 'frank', role: 'member' },
    });
    await ok(a.url, 'POST', '/orgs/acme/teams', { auth: ROOT, body: { name: 'ops' } });
    await ok(a.url, 'PUT', '/orgs/acme/teams/ops/members/frank', { auth: ROOT });
    await ok(a.url, 'PUT', '/repos/acme/team-app/permissions', {
      auth: ROOT,
      body: { users: [], teams: [{ team: 'ops', level: 'read' }] },
    });
    expect(await pull(b.url, 'acme/team-app', basicOf('frank'))).toEqual({ status: 200 });
    expect(await cached('repo:acme/team-app')).toBe(true);
    await ok(a.url, 'DELETE', '/orgs/acme/teams/ops', { auth: ROOT });
    expect(await cached('repo:acme/team-app')).toBe(false);
    expect(await cached(`user:${ids.frank}`)).toBe(false);
    expect(await pull(b.url, 'acme/team-app', basicOf('frank'))).toEqual({
      status: 403,
      code: 'DENIED',
    });
  });

  it('(a) a repository deleted on A is gone for pulls on B, and a new one of that name starts bare', async () => {
    await pusher.pushImage('acme/doomed', 'v1', ['doomed layer']);
    await ok(a.url, 'PATCH', '/repos/acme/doomed', { auth: ROOT, body: { visibility: 'public' } });
    expect(await pull(b.url, 'acme/doomed', {})).toEqual({ status: 200 });
    expect(await cached('repo:acme/doomed')).toBe(true);
    await ok(a.url, 'DELETE', '/repos/acme/doomed', { auth: ROOT });
    expect(await cached('repo:acme/doomed')).toBe(false);
    // Recreated (private by default): anonymous callers get nothing on B.
    await pusher.pushImage('acme/doomed', 'v1', ['reborn layer']);
    expect((await pull(b.url, 'acme/doomed', {})).status).toBe(401);
  });

  it('(e) failed sign-ins of one account from one address on both nodes add up: a growing delay, then refusal; the owner still signs in from elsewhere', async () => {
    const from = '198.51.100.20';
    for (const node of [a, a, b])
      expect((await login(node.url, 'dave', 'wrong-password', from)).status).toBe(401);
    // The third failure holds the pair (AUTH_FAILURE_DELAY_SECONDS), on the other node too.
    const held = await login(b.url, 'dave', 'dave-password', from);
    expect(held.status).toBe(429);
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(0);
    let fourth = 0;
    await waitFor('the delay to pass', async () => {
      fourth = (await login(b.url, 'dave', 'wrong-password', from)).status;
      return fourth !== 429;
    });
    expect(fourth).toBe(401);
    const blocked = await login(a.url, 'dave', 'dave-password', from);
    expect(blocked.status).toBe(429);
    const onB = await fetch(`${b.url}/auth/token?service=aerugo`, {
      headers: { ...basicOf('dave'), 'x-forwarded-for': from },
    });
    expect(onB.status).toBe(429);
    expect(Number(onB.headers.get('retry-after'))).toBeGreaterThan(60);
    // One counter in Redis holds the four failures of the pair ...
    expect(await redis.get(`aerugo:auth-limit:${scope}:pair:dave|${from}`)).toBe(
      String(PER_ACCOUNT),
    );
    // ... and none counts the account alone: its owner signs in from another address, anywhere.
    expect(await redis.exists(`aerugo:auth-limit:${scope}:account:dave`)).toBe(0);
    expect((await login(a.url, 'dave', 'dave-password', '198.51.100.21')).status).toBe(200);
    const elsewhere = await fetch(`${b.url}/auth/token?service=aerugo`, {
      headers: { ...basicOf('dave'), 'x-forwarded-for': '198.51.100.21' },
    });
    expect(elsewhere.status).toBe(200);
  });

  it('(e) behind a proxy (TRUST_PROXY=1) the per-address limit counts the forwarded client address', async () => {
    const attacker = '203.0.113.7';
    // Failures for different accounts from one client, spread over both nodes.
    for (let i = 0; i < PER_ADDRESS; i++) {
      const node = i % 2 ? b : a;
      expect((await login(node.url, `nobody${i}`, 'wrong-password', attacker)).status).toBe(401);
    }
    expect((await login(b.url, 'alice', 'alice-password', attacker)).status).toBe(429);
    // Another client behind the same proxy is not affected.
    expect((await login(a.url, 'alice', 'alice-password', '203.0.113.8')).status).toBe(200);
    expect(await redis.get(`aerugo:auth-limit:${scope}:address:${attacker}`)).toBe(
      String(PER_ADDRESS),
    );
  });

  it('(e) self-registrations from one address on both nodes add up to the limit (429, Retry-After)', async () => {
    const register = (node: TestServer, username: string, from: string) =>
      api(node.url, 'POST', '/auth/register', {
        body: { username, password: `${username}-password` },
        headers: { 'x-forwarded-for': from },
      });
    const from = '198.51.100.77';
    for (const [i, node] of [a, b, a].entries())
      expect((await register(node, `signup${i}`, from)).status).toBe(201);
    const refused = await register(b, 'signup3', from);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await register(a, 'signup4', from)).status).toBe(429);
    expect((await register(a, 'signup5', '198.51.100.78')).status).toBe(201);
    expect(await redis.get(`aerugo:auth-limit:${scope}:register:address:${from}`)).toBe(
      String(REGISTRATIONS),
    );
  });

  it('(f) a repository created on A after B looked it up as missing is visible on B at once', async () => {
    const admin = { authorization: basicHeader(ADMIN.username, ADMIN.password) };
    // B reads a missing name from PostgreSQL once, then keeps "not found" in the shared cache, so
    // that a missing name costs what an existing private one costs.
    expect((await pull(b.url, 'acme/later', admin)).status).toBe(404);
    expect(await cached('repo:acme/later')).toBe(true);
    await ok(a.url, 'POST', '/repos', { auth: ROOT, body: { namespace: 'acme', name: 'later' } });
    const listed = await fetch(`${b.url}/v2/acme/later/tags/list`, { headers: admin });
    expect(listed.status).toBe(200);
    // The same through the repository a first push creates (ReposService.findOrCreate) ...
    expect((await pull(b.url, 'acme/pushed-later', admin)).status).toBe(404);
    expect(await cached('repo:acme/pushed-later')).toBe(true);
    await pusher.pushImage('acme/pushed-later', 'v1', ['late layer']);
    expect(await pull(b.url, 'acme/pushed-later', admin)).toEqual({ status: 200 });
    // ... and through a name nobody held, reserved by an administrator's first push under it.
    expect((await pull(b.url, 'nobodys/app', admin)).status).toBe(404);
    expect(await redis.get(`aerugo:acl:${scope}:ns:nobodys`)).toBe('{"v":null}');
    await pusher.pushImage('nobodys/app', 'v1', ['reserved layer']);
    expect(await pull(b.url, 'nobodys/app', admin)).toEqual({ status: 200 });
    expect(await redis.get(`aerugo:acl:${scope}:ns:nobodys`)).not.toBe('{"v":null}');
  });

  it('(g) a password changed on A stops, on B at once, Basic sign-ins and registry tokens that used the old one', async () => {
    const oldBasic = { authorization: basicHeader('erin', 'erin-password') };
    // B verifies erin's password once and remembers it (keyed by an HMAC, checked against the
    // cached user facts), and issues a registry token for it.
    for (let i = 0; i < 3; i++)
      expect((await fetch(`${b.url}/v2/`, { headers: oldBasic })).status).toBe(200);
    const token = await registryToken(b.url, ['repository:erin/app:pull,push'], {
      basic: ['erin', 'erin-password'],
    });
    expect(token.status).toBe(200);
    const bearer = { authorization: `Bearer ${token.token}` };
    expect((await fetch(`${b.url}/v2/`, { headers: bearer })).status).toBe(200);
    const key = await ok(a.url, 'POST', '/api-keys', {
      auth: { basic: ['erin', 'erin-password'] },
      body: { name: 'kept' },
    });

    await ok(a.url, 'PUT', '/users/me/password', {
      auth: { basic: ['erin', 'erin-password'] },
      body: { currentPassword: 'erin-password', newPassword: 'erin-new-password' },
      expect: 204,
    });
    expect((await fetch(`${b.url}/v2/`, { headers: oldBasic })).status).toBe(401);
    expect((await fetch(`${b.url}/v2/`, { headers: bearer })).status).toBe(401);
    // The new password works at once; API keys are not passwords and keep working.
    const newBasic = { authorization: basicHeader('erin', 'erin-new-password') };
    expect((await fetch(`${b.url}/v2/`, { headers: newBasic })).status).toBe(200);
    const fresh = await registryToken(b.url, ['repository:erin/app:pull'], {
      basic: ['erin', 'erin-new-password'],
    });
    expect(
      (await fetch(`${b.url}/v2/`, { headers: { authorization: `Bearer ${fresh.token}` } })).status,
    ).toBe(200);
    expect((await fetch(`${b.url}/v2/`, { headers: { 'x-api-key': key.key } })).status).toBe(200);
  });

  it('(e) behind a trusted proxy (TRUST_PROXY=1) the token realm follows X-Forwarded-Proto/-Host', async () => {
    const res = await fetch(`${a.url}/v2/`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'registry.example.com' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="https://registry.example.com/auth/token",service="aerugo"',
    );
    // A value that is not a plain host is never copied into the challenge.
    const odd = await fetch(`${a.url}/v2/`, {
      headers: { 'x-forwarded-host': 'x",scope="y' },
    });
    expect(odd.headers.get('www-authenticate')).toBe(
      `Bearer realm="${a.url}/auth/token",service="aerugo"`,
    );
  });
});

describe('sign-in limits when Redis is unreachable', () => {
  let server: TestServer;

  beforeAll(async () => {
    const port = await freePort(); // nothing listens there
    server = await startServer({
      env: {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        ADMIN_USERNAME: ADMIN.username,
        ADMIN_PASSWORD: ADMIN.password,
        AUTH_RATE_LIMIT_PER_ACCOUNT: '2',
        AUTH_RATE_LIMIT_WINDOW_SECONDS: '3600',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('are counted on the node: sign-ins work, and the limit still applies', async () => {
    const root = (username: string, password: string) =>
      api(server.url, 'POST', '/auth/login', { body: { username, password } });
    expect((await root(ADMIN.username, ADMIN.password)).status).toBe(200);
    await ok(server.url, 'POST', '/users', {
      auth: ROOT,
      body: { username: 'gina', password: 'gina-password' },
    });
    const key: Json = await ok(server.url, 'POST', '/api-keys', {
      auth: ROOT,
      body: { name: 'no-redis' },
    });
    expect((await api(server.url, 'GET', '/auth/me', { auth: { apiKey: key.key } })).status).toBe(
      200,
    );
    expect((await root('gina', 'wrong-password')).status).toBe(401);
    expect((await root('gina', 'wrong-password')).status).toBe(401);
    expect((await root('gina', 'gina-password')).status).toBe(429);
    expect((await root(ADMIN.username, ADMIN.password)).status).toBe(200);
    expect(server.logs()).toContain('counting on this node meanwhile');
  });
});
