import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RegistryClient, sha256 } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import {
  ADMIN,
  api,
  type Auth,
  basicHeader,
  decodeJwt,
  expiredCopy,
  freshCopy,
  JWT_SECRET,
  ok,
  registerAndLogin,
  registryErrorCode,
  registryToken,
  type TestUser,
} from './identity-support.js';

type Persona =
  | 'anonymous'
  | 'owner'
  | 'member'
  | 'teamReader'
  | 'teamWriter'
  | 'outsider'
  | 'apiKey'
  | 'revokedKey'
  | 'expiredToken';
type Repo = 'alice/pub' | 'alice/priv' | 'acme/pub' | 'acme/priv';
type Level = 'none' | 'read' | 'write' | 'admin';
type Op = 'pull' | 'push' | 'delete' | 'list';
type Outcome = number | 'listed' | 'unlisted';

const PERSONAS: Persona[] = [
  'anonymous',
  'owner',
  'member',
  'teamReader',
  'teamWriter',
  'outsider',
  'apiKey',
  'revokedKey',
  'expiredToken',
];
const REPOS: Repo[] = ['alice/pub', 'alice/priv', 'acme/pub', 'acme/priv'];
const OPS: Op[] = ['pull', 'push', 'delete', 'list'];

/**
 * What each persona may do, written out by hand: alice owns the user namespace "alice" and the
 * organization "acme"; bob is a plain member of acme; carol is in team "readers" (read on
 * acme/priv); dave is in team "writers" (write on acme/pub and acme/priv); eve is an outsider;
 * the API key is alice's. Revoked keys and expired tokens get 401 everywhere.
 */
const LEVEL: Record<Exclude<Persona, 'revokedKey' | 'expiredToken'>, Record<Repo, Level>> = {
  anonymous: { 'alice/pub': 'read', 'alice/priv': 'none', 'acme/pub': 'read', 'acme/priv': 'none' },
  owner: { 'alice/pub': 'admin', 'alice/priv': 'admin', 'acme/pub': 'admin', 'acme/priv': 'admin' },
  member: { 'alice/pub': 'read', 'alice/priv': 'none', 'acme/pub': 'read', 'acme/priv': 'none' },
  teamReader: {
    'alice/pub': 'read',
    'alice/priv': 'none',
    'acme/pub': 'read',
    'acme/priv': 'read',
  },
  teamWriter: {
    'alice/pub': 'read',
    'alice/priv': 'none',
    'acme/pub': 'write',
    'acme/priv': 'write',
  },
  outsider: { 'alice/pub': 'read', 'alice/priv': 'none', 'acme/pub': 'read', 'acme/priv': 'none' },
  apiKey: {
    'alice/pub': 'admin',
    'alice/priv': 'admin',
    'acme/pub': 'admin',
    'acme/priv': 'admin',
  },
};

const RANK: Record<Level, number> = { none: 0, read: 1, write: 2, admin: 3 };
const NEEDS: Record<Op, Level> = { pull: 'read', push: 'write', delete: 'admin', list: 'read' };

function expectedRegistry(persona: Persona, repo: Repo, op: Op): Outcome {
  if (persona === 'revokedKey' || persona === 'expiredToken') return 401;
  const allowed = RANK[LEVEL[persona][repo]] >= RANK[NEEDS[op]];
  if (op === 'list') return allowed ? 'listed' : 'unlisted';
  if (allowed) return { pull: 200, push: 201, delete: 202 }[op];
  return persona === 'anonymous' ? 401 : 403;
}

/** Management API: `pull` is viewing details, `push` changing settings (an admin right). */
function expectedManagement(persona: Persona, repo: Repo, op: Op): Outcome {
  if (persona === 'revokedKey' || persona === 'expiredToken') return 401;
  const level = LEVEL[persona][repo];
  const visible = RANK[level] >= RANK.read;
  if (op === 'list') return visible ? 'listed' : 'unlisted';
  if (op === 'pull') return visible ? 200 : 404;
  if (persona === 'anonymous') return 401;
  if (!visible) return 404;
  if (level !== 'admin') return 403;
  return op === 'push' ? 200 : 204;
}

let server: TestServer;
let base: string;
const users: Record<string, TestUser> = {};
let apiKey: string;
let revokedKey: string;
let seed = 0;

function basic(u: TestUser): Auth {
  return { basic: [u.username, u.password] };
}

function personaUser(p: Persona): TestUser | undefined {
  return (
    {
      owner: users.alice,
      member: users.bob,
      teamReader: users.carol,
      teamWriter: users.dave,
      outsider: users.eve,
    } as Record<string, TestUser>
  )[p];
}

/** Owner-side client: alice's API key straight on /v2/. */
function admin(): RegistryClient {
  return new RegistryClient(base, { 'x-api-key': apiKey });
}

/** Registry credentials of a persona through the Docker token flow, or the status that refused them. */
async function registryHeaders(
  p: Persona,
  scopes: string[],
): Promise<Record<string, string> | number> {
  let auth: Auth;
  if (p === 'anonymous') auth = undefined;
  else if (p === 'apiKey') auth = { basic: ['alice', apiKey] };
  else if (p === 'revokedKey') auth = { basic: ['alice', revokedKey] };
  else if (p === 'expiredToken') {
    const real = await registryToken(base, scopes, basic(users.alice));
    return { authorization: `Bearer ${expiredCopy(real.token!)}` };
  } else auth = basic(personaUser(p)!);
  const t = await registryToken(base, scopes, auth);
  if (t.status !== 200) return t.status;
  return { authorization: `Bearer ${t.token}` };
}

async function registryOp(p: Persona, repo: Repo, op: Op): Promise<Outcome> {
  if (op === 'list') {
    const h = await registryHeaders(p, ['registry:catalog:*']);
    if (typeof h === 'number') return h;
    const res = await fetch(`${base}/v2/_catalog?n=1000`, { headers: h });
    if (res.status !== 200) return res.status;
    const body = (await res.json()) as { repositories: string[] };
    return body.repositories.includes(repo) ? 'listed' : 'unlisted';
  }
  if (op === 'pull') {
    const h = await registryHeaders(p, [`repository:${repo}:pull`]);
    if (typeof h === 'number') return h;
    return (
      await fetch(`${base}/v2/${repo}/manifests/v1`, {
        headers: { ...h, accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).status;
  }
  if (op === 'push') {
    const h = await registryHeaders(p, [`repository:${repo}:pull,push`]);
    if (typeof h === 'number') return h;
    const data = `blob pushed by ${p} to ${repo} #${seed++}`;
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
      method: 'POST',
      headers: { ...h, 'content-type': 'application/octet-stream' },
      body: data,
    });
    return res.status;
  }
  // delete: alice pushes a manifest of its own for this case, then the persona deletes it.
  const { digest } = await admin().pushImage(repo, `del-${seed++}`, [`layer for ${p} ${repo}`], {
    annotations: { case: `${p} ${repo} ${seed}` },
  });
  const h = await registryHeaders(p, [`repository:${repo}:delete`]);
  if (typeof h === 'number') return h;
  return (await fetch(`${base}/v2/${repo}/manifests/${digest}`, { method: 'DELETE', headers: h }))
    .status;
}

function managementAuth(p: Persona): Auth {
  if (p === 'anonymous') return undefined;
  if (p === 'apiKey') return { apiKey };
  if (p === 'revokedKey') return { apiKey: revokedKey };
  if (p === 'expiredToken') return { bearer: expiredCopy(users.alice.accessToken) };
  return { bearer: personaUser(p)!.accessToken };
}

/** A throw-away copy of a repository (same namespace, visibility and grants) for destructive cases. */
async function copyOf(repo: Repo, suffix: string): Promise<string> {
  const [namespace, name] = repo.split('/');
  const copy = `${name}-${suffix}`;
  await ok(base, 'POST', '/repos', {
    auth: { bearer: users.alice.accessToken },
    body: { namespace, name: copy, visibility: name === 'pub' ? 'public' : 'private' },
  });
  const grants = await ok(base, 'GET', `/repos/${repo}/permissions`, {
    auth: { bearer: users.alice.accessToken },
  });
  await ok(base, 'PUT', `/repos/${namespace}/${copy}/permissions`, {
    auth: { bearer: users.alice.accessToken },
    body: grants,
  });
  return `${namespace}/${copy}`;
}

async function managementOp(p: Persona, repo: Repo, op: Op): Promise<Outcome> {
  const auth = managementAuth(p);
  if (op === 'list') {
    const r = await api(base, 'GET', `/repos?namespace=${repo.split('/')[0]}&perPage=100`, {
      auth,
    });
    if (r.status !== 200) return r.status;
    return (r.body.items as { name: string }[]).some((i) => i.name === repo)
      ? 'listed'
      : 'unlisted';
  }
  if (op === 'pull') return (await api(base, 'GET', `/repos/${repo}`, { auth })).status;
  if (op === 'push')
    return (await api(base, 'PATCH', `/repos/${repo}`, { auth, body: { description: `by ${p}` } }))
      .status;
  const target = await copyOf(repo, `del-${p.toLowerCase()}`);
  return (await api(base, 'DELETE', `/repos/${target}`, { auth })).status;
}

beforeAll(async () => {
  server = await startServer({
    env: {
      JWT_SECRET,
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      AUTH_RATE_LIMIT_PER_ADDRESS: '100000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
    },
  });
  base = server.url;
  for (const name of ['alice', 'bob', 'carol', 'dave', 'eve', 'frank', 'gina'])
    users[name] = await registerAndLogin(base, name);
  const alice = { bearer: users.alice.accessToken };
  apiKey = (await ok(base, 'POST', '/api-keys', { auth: alice, body: { name: 'matrix' } })).key;
  const revoked = await ok(base, 'POST', '/api-keys', { auth: alice, body: { name: 'revoked' } });
  revokedKey = revoked.key;
  await ok(base, 'DELETE', `/api-keys/${revoked.id}`, { auth: alice });

  await ok(base, 'POST', '/orgs', { auth: alice, body: { name: 'acme' } });
  for (const u of ['bob', 'carol', 'dave'])
    await ok(base, 'POST', '/orgs/acme/members', {
      auth: alice,
      body: { username: u, role: 'member' },
    });
  await ok(base, 'POST', '/orgs/acme/members', {
    auth: alice,
    body: { username: 'frank', role: 'admin' },
  });
  for (const [team, member] of [
    ['readers', 'carol'],
    ['writers', 'dave'],
  ]) {
    await ok(base, 'POST', '/orgs/acme/teams', { auth: alice, body: { name: team } });
    await ok(base, 'PUT', `/orgs/acme/teams/${team}/members/${member}`, { auth: alice });
  }
  for (const repo of REPOS) {
    const [namespace, name] = repo.split('/');
    await ok(base, 'POST', '/repos', {
      auth: alice,
      body: { namespace, name, visibility: name === 'pub' ? 'public' : 'private' },
    });
    await admin().pushImage(repo, 'v1', [`base layer of ${repo}`]);
  }
  await ok(base, 'PUT', '/repos/acme/priv/permissions', {
    auth: alice,
    body: {
      users: [],
      teams: [
        { team: 'readers', level: 'read' },
        { team: 'writers', level: 'write' },
      ],
    },
  });
  await ok(base, 'PUT', '/repos/acme/pub/permissions', {
    auth: alice,
    body: { users: [], teams: [{ team: 'writers', level: 'write' }] },
  });
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

const CASES = PERSONAS.flatMap((p) =>
  REPOS.flatMap((r) => OPS.map((o) => [p, r, o] as [Persona, Repo, Op])),
);

describe('tenancy matrix through the registry API (Docker token flow)', () => {
  it.each(CASES)('%s on %s: %s', async (persona, repo, op) => {
    expect(await registryOp(persona, repo, op)).toBe(expectedRegistry(persona, repo, op));
  });
});

describe('tenancy matrix through the management API', () => {
  it.each(CASES)('%s on %s: %s', async (persona, repo, op) => {
    expect(await managementOp(persona, repo, op)).toBe(expectedManagement(persona, repo, op));
  });
});

describe('registry authentication details', () => {
  it('answers /v2/ without credentials with 401 and the Bearer challenge', async () => {
    const res = await fetch(`${base}/v2/`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer realm="${base}/auth/token",service="aerugo"`,
    );
    expect(await registryErrorCode(res)).toBe('UNAUTHORIZED');
    // TRUST_PROXY is off here: forwarded headers are anyone's to send, so the realm ignores them
    // (multinode-auth.spec.ts checks that a trusted proxy's are followed).
    const spoofed = await fetch(`${base}/v2/`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example.com' },
    });
    expect(spoofed.headers.get('www-authenticate')).toBe(
      `Bearer realm="${base}/auth/token",service="aerugo"`,
    );
    const pull = await fetch(`${base}/v2/alice/priv/manifests/v1`);
    expect(pull.status).toBe(401);
    expect(pull.headers.get('www-authenticate')).toBe(
      `Bearer realm="${base}/auth/token",service="aerugo",scope="repository:alice/priv:pull"`,
    );
    const catalog = await fetch(`${base}/v2/_catalog`);
    expect(catalog.status).toBe(401);
    expect(catalog.headers.get('www-authenticate')).toContain('scope="registry:catalog:*"');
  });

  it('lets anonymous callers pull public repositories without a token', async () => {
    expect((await fetch(`${base}/v2/alice/pub/manifests/v1`)).status).toBe(200);
    expect((await fetch(`${base}/v2/alice/pub/tags/list`)).status).toBe(200);
  });

  it('accepts Basic (password or API key) and API keys straight on /v2/', async () => {
    const headers: Record<string, string>[] = [
      { authorization: basicHeader('alice', users.alice.password) },
      { authorization: basicHeader('alice', apiKey) },
      { authorization: `Bearer ${apiKey}` },
      { 'x-api-key': apiKey },
    ];
    for (const h of headers) {
      expect((await fetch(`${base}/v2/`, { headers: h })).status).toBe(200);
      expect((await fetch(`${base}/v2/alice/priv/manifests/v1`, { headers: h })).status).toBe(200);
    }
    // An API key only works with its owner's name.
    expect(
      (await fetch(`${base}/v2/`, { headers: { authorization: basicHeader('bob', apiKey) } }))
        .status,
    ).toBe(401);
    for (const h of [
      { authorization: basicHeader('alice', 'wrong-password') },
      { 'x-api-key': revokedKey },
      { authorization: 'Bearer not.a.jwt' },
    ] as Record<string, string>[]) {
      const res = await fetch(`${base}/v2/alice/priv/manifests/v1`, { headers: h });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
      expect(await registryErrorCode(res)).toBe('UNAUTHORIZED');
    }
  });

  it('grants the intersection of requested and allowed actions and leaves refused scopes out', async () => {
    const t = await registryToken(
      base,
      [
        'repository:alice/pub:pull,push,delete',
        'repository:alice/priv:pull',
        'repository:acme/priv:pull,push',
        'repository:Bad Name:pull',
        'registry:catalog:*',
      ],
      basic(users.carol),
    );
    expect(t.status).toBe(200);
    const claims = decodeJwt(t.token!);
    expect(claims.access).toEqual([
      { type: 'repository', name: 'alice/pub', actions: ['pull'] },
      { type: 'repository', name: 'acme/priv', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    expect(claims.aud).toBe('aerugo');
    expect(t.body.access_token).toBe(t.token);
    // The default lifetime (REGISTRY_TOKEN_TTL_SECONDS unset): 300 s, in the body and the token.
    expect(t.body.expires_in).toBe(300);
    expect(claims.exp - claims.iat).toBe(300);
  });

  it('refuses bad credentials at the token endpoint with 401', async () => {
    for (const auth of [
      { basic: ['alice', 'wrong'] },
      { basic: ['nobody', 'whatever-1'] },
      { basic: ['alice', revokedKey] },
    ] as Auth[]) {
      const t = await registryToken(base, ['repository:alice/pub:pull'], auth);
      expect(t.status).toBe(401);
      expect(t.body.errors[0].code).toBe('UNAUTHORIZED');
    }
  });

  it('asks for a fresh token (401 insufficient_scope) when the caller could do more, DENIED when not', async () => {
    const pullOnly = await registryToken(base, ['repository:alice/priv:pull'], basic(users.alice));
    const data = 'needs push';
    const push = () =>
      fetch(`${base}/v2/alice/priv/blobs/uploads/?digest=${sha256(data)}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${pullOnly.token}` },
        body: data,
      });
    const res = await push();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(res.headers.get('www-authenticate')).toContain(
      'scope="repository:alice/priv:pull,push"',
    );
    const carol = await registryToken(base, ['repository:acme/priv:pull,push'], basic(users.carol));
    const denied = await fetch(`${base}/v2/acme/priv/blobs/uploads/?digest=${sha256(data)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${carol.token}` },
      body: data,
    });
    expect(denied.status).toBe(403);
    expect(await registryErrorCode(denied)).toBe('DENIED');
  });

  it('makes a private repository the caller cannot see indistinguishable from a missing one', async () => {
    for (const [auth, registryStatus] of [
      [basic(users.eve), 403],
      [undefined, 401],
    ] as [Auth, number][]) {
      const results = [];
      for (const repo of ['alice/priv', 'alice/does-not-exist']) {
        const t = await registryToken(base, [`repository:${repo}:pull`], auth);
        const res = await fetch(`${base}/v2/${repo}/manifests/v1`, {
          headers: { authorization: `Bearer ${t.token}` },
        });
        const code = await registryErrorCode(res);
        const mgmt = await api(base, 'GET', `/repos/${repo}`, {
          auth: auth && { bearer: users.eve.accessToken },
        });
        results.push({
          status: res.status,
          code,
          access: decodeJwt(t.token!).access,
          mgmt: mgmt.status,
        });
      }
      expect(results[0]).toEqual(results[1]);
      expect(results[0].status).toBe(registryStatus);
      expect(results[0].mgmt).toBe(404);
    }
  });

  it('refuses an expired token but accepts the same claims unexpired (so expiry is the reason)', async () => {
    const real = await registryToken(base, ['repository:alice/priv:pull'], basic(users.alice));
    const expired = await fetch(`${base}/v2/alice/priv/manifests/v1`, {
      headers: { authorization: `Bearer ${expiredCopy(real.token!)}` },
    });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const fresh = await fetch(`${base}/v2/alice/priv/manifests/v1`, {
      headers: { authorization: `Bearer ${freshCopy(real.token!)}` },
    });
    expect(fresh.status).toBe(200);
    expect(
      (
        await api(base, 'GET', '/auth/me', {
          auth: { bearer: expiredCopy(users.alice.accessToken) },
        })
      ).status,
    ).toBe(401);
    expect(
      (await api(base, 'GET', '/auth/me', { auth: { bearer: freshCopy(users.alice.accessToken) } }))
        .status,
    ).toBe(200);
    // A token signed with another key, or with the algorithm switched off, is refused too.
    const forged = freshCopy(real.token!).split('.');
    const noneAlg = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${forged[1]}.`;
    expect(
      (
        await fetch(`${base}/v2/alice/priv/manifests/v1`, {
          headers: { authorization: `Bearer ${noneAlg}` },
        })
      ).status,
    ).toBe(401);
    const otherKey = `${forged[0]}.${forged[1]}.${Buffer.from('x'.repeat(32)).toString('base64url')}`;
    expect(
      (
        await fetch(`${base}/v2/alice/priv/manifests/v1`, {
          headers: { authorization: `Bearer ${otherKey}` },
        })
      ).status,
    ).toBe(401);
  });

  it('stops registry tokens obtained with an API key as soon as the key is revoked', async () => {
    const key = await ok(base, 'POST', '/api-keys', {
      auth: { bearer: users.alice.accessToken },
      body: { name: 'short-lived' },
    });
    const t = await registryToken(base, ['repository:alice/priv:pull'], {
      basic: ['alice', key.key],
    });
    const pull = () =>
      fetch(`${base}/v2/alice/priv/manifests/v1`, {
        headers: { authorization: `Bearer ${t.token}` },
      });
    expect((await pull()).status).toBe(200);
    await ok(base, 'DELETE', `/api-keys/${key.id}`, { auth: { bearer: users.alice.accessToken } });
    expect((await pull()).status).toBe(401);
  });
});

describe('creating repositories by pushing', () => {
  it.each<[string, string, string, number]>([
    ['owner into their own namespace', 'alice', 'alice/created-by-push', 201],
    ['org owner into the org', 'alice', 'acme/created-by-owner', 201],
    ['org admin into the org', 'frank', 'acme/created-by-admin', 201],
    ['org member into the org (members may not create)', 'bob', 'acme/created-by-member', 403],
    ['team writer into the org', 'dave', 'acme/created-by-writer', 403],
    ['member into their own namespace', 'bob', 'bob/own', 201],
    ["outsider into someone else's namespace", 'eve', 'alice/intruder', 403],
    ['a user into a namespace nobody holds', 'alice', 'ghost/app', 403],
    ['anonymous', '', 'alice/anon', 401],
  ])('%s', async (_, who, repo, expected) => {
    const auth = who ? basic(users[who]) : undefined;
    const t = await registryToken(base, [`repository:${repo}:pull,push`], auth);
    const client = new RegistryClient(base, { authorization: `Bearer ${t.token}` });
    const data = `first blob of ${repo}`;
    const res = await client.fetch(`/v2/${repo}/blobs/uploads/?digest=${sha256(data)}`, {
      method: 'POST',
      body: data,
    });
    expect(res.status).toBe(expected);
    if (expected === 201) {
      // New repositories are private by default: outsiders cannot see them.
      const viaApi = await api(base, 'GET', `/repos/${repo}`, {
        auth: { bearer: users.eve.accessToken },
      });
      expect(viaApi.status).toBe(404);
      const own = await api(base, 'GET', `/repos/${repo}`, {
        auth: { bearer: users[who].accessToken },
      });
      expect(own.status).toBe(200);
      expect(own.body.visibility).toBe('private');
    }
  });

  it('lets a system administrator create a repository under a free name, which becomes reserved', async () => {
    const root = { basic: [ADMIN.username, ADMIN.password] } as Auth;
    const t = await registryToken(base, ['repository:legacy/app:pull,push'], root);
    const data = 'admin blob';
    const res = await fetch(`${base}/v2/legacy/app/blobs/uploads/?digest=${sha256(data)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}` },
      body: data,
    });
    expect(res.status).toBe(201);
    expect(
      (
        await api(base, 'POST', '/auth/register', {
          body: { username: 'legacy', password: 'legacy-password' },
        })
      ).status,
    ).toBe(409);
    expect(
      (
        await api(base, 'POST', '/orgs', {
          auth: { bearer: users.eve.accessToken },
          body: { name: 'Legacy' },
        })
      ).status,
    ).toBe(409);
  });
});

describe('repository grants', () => {
  it('gives a user write through a direct grant, and takes it away again', async () => {
    const alice = { bearer: users.alice.accessToken };
    await ok(base, 'POST', '/repos', {
      auth: alice,
      body: { namespace: 'alice', name: 'shared', visibility: 'private' },
    });
    const push = async () => {
      const t = await registryToken(base, ['repository:alice/shared:pull,push'], basic(users.gina));
      const data = `gina ${seed++}`;
      return (
        await fetch(`${base}/v2/alice/shared/blobs/uploads/?digest=${sha256(data)}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.token}` },
          body: data,
        })
      ).status;
    };
    expect(await push()).toBe(403);
    const grants = await ok(base, 'PUT', '/repos/alice/shared/permissions', {
      auth: alice,
      body: { users: [{ username: 'Gina', level: 'write' }], teams: [] },
    });
    expect(grants).toEqual({ users: [{ username: 'gina', level: 'write' }], teams: [] });
    expect(await push()).toBe(201);
    // Writers cannot manage grants; teams belong to organizations only.
    expect(
      (
        await api(base, 'GET', '/repos/alice/shared/permissions', {
          auth: { bearer: users.gina.accessToken },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await api(base, 'PUT', '/repos/alice/shared/permissions', {
          auth: alice,
          body: { users: [], teams: [{ team: 'readers', level: 'read' }] },
        })
      ).status,
    ).toBe(400);
    await ok(base, 'PUT', '/repos/alice/shared/permissions', {
      auth: alice,
      body: { users: [], teams: [] },
    });
    expect(await push()).toBe(403);
  });

  it('lets a system administrator manage every repository', async () => {
    const root = { basic: [ADMIN.username, ADMIN.password] } as Auth;
    expect((await api(base, 'GET', '/repos/alice/priv', { auth: root })).status).toBe(200);
    expect((await api(base, 'GET', '/repos/alice/priv/permissions', { auth: root })).status).toBe(
      200,
    );
    const t = await registryToken(base, ['repository:acme/priv:pull,push,delete'], root);
    expect(decodeJwt(t.token!).access).toEqual([
      { type: 'repository', name: 'acme/priv', actions: ['pull', 'push', 'delete'] },
    ]);
    const search = await ok(base, 'GET', '/repos?perPage=100', { auth: root });
    expect((search.items as { name: string }[]).map((i) => i.name)).toEqual(
      expect.arrayContaining(['alice/priv', 'acme/priv']),
    );
  });

  it('switches visibility: a repository made public can be pulled anonymously, and back', async () => {
    const alice = { bearer: users.alice.accessToken };
    await ok(base, 'POST', '/repos', { auth: alice, body: { namespace: 'alice', name: 'flip' } });
    await admin().pushImage('alice/flip', 'v1', ['flip layer']);
    const anonymousPull = async () => (await fetch(`${base}/v2/alice/flip/manifests/v1`)).status;
    expect(await anonymousPull()).toBe(401);
    expect(
      (
        await ok(base, 'PATCH', '/repos/alice/flip', {
          auth: alice,
          body: { visibility: 'public' },
        })
      ).visibility,
    ).toBe('public');
    expect(await anonymousPull()).toBe(200);
    expect(
      (
        await api(base, 'PATCH', '/repos/alice/flip', {
          auth: alice,
          body: { visibility: 'secret' },
        })
      ).status,
    ).toBe(400);
    await ok(base, 'PATCH', '/repos/alice/flip', { auth: alice, body: { visibility: 'private' } });
    expect(await anonymousPull()).toBe(401);
  });

  it('deletes a repository with its manifests and tags', async () => {
    const alice = { bearer: users.alice.accessToken };
    await ok(base, 'POST', '/repos', {
      auth: alice,
      body: { namespace: 'alice', name: 'doomed/app' },
    });
    await admin().pushImage('alice/doomed/app', 'v1', ['doomed layer']);
    expect((await ok(base, 'GET', '/repos/alice/doomed/app', { auth: alice })).tags).toHaveLength(
      1,
    );
    await ok(base, 'DELETE', '/repos/alice/doomed/app', { auth: alice });
    const res = await admin().fetch('/v2/alice/doomed/app/manifests/v1');
    expect(res.status).toBe(404);
    expect(await registryErrorCode(res)).toBe('NAME_UNKNOWN');
    expect((await api(base, 'GET', '/repos/alice/doomed/app', { auth: alice })).status).toBe(404);
    // Pushing again starts an empty repository.
    await admin().pushImage('alice/doomed/app', 'v2', ['new layer']);
    const tags = (await ok(base, 'GET', '/repos/alice/doomed/app', { auth: alice })).tags;
    expect(tags.map((t: { name: string }) => t.name)).toEqual(['v2']);
  });

  it('shows repository details with tags, digests and sizes', async () => {
    const { digest } = await admin().pushImage('alice/priv', 'details', ['0123456789']);
    const d = await ok(base, 'GET', '/repos/alice/priv', {
      auth: { bearer: users.alice.accessToken },
    });
    const tag = (d.tags as { name: string; digest: string; size: number }[]).find(
      (t) => t.name === 'details',
    );
    expect(tag?.digest).toBe(digest);
    expect(tag?.size).toBeGreaterThan(10);
    expect(d.permission).toBe('admin');
    expect(d.lastPushedAt).not.toBeNull();
  });
});
