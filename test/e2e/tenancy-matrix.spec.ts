import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RegistryClient, sha256, waitFor } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import {
  api,
  basicHeader,
  decodeJwt,
  JWT_SECRET,
  ok,
  registerAndLogin,
  registryErrorCode,
  registryToken,
  type TestUser,
} from './identity-support.js';

/**
 * Every registry route and method (the route → action table of src/registry/routes.ts, written
 * out again here by hand) × every way of calling (no credentials, a registry token, Basic with
 * the password straight on /v2/, an API key straight on /v2/) × a user and an organization
 * namespace × public and private repositories. Each case asserts exactly: the success status
 * (and what the success carries) when the persona's level covers the route's actions, 401 for
 * anonymous callers and 403 DENIED for signed-in callers otherwise.
 *
 * Machine credentials join the personas: scoped API keys of alice (pull only; limited to
 * `acme/*`), the robot acme+ci (write on acme/priv), a robot of another organization, and
 * credentials refused everywhere with 401 (an expired key, a disabled robot).
 */

type Action = 'pull' | 'push' | 'delete';
type Level = 'none' | 'read' | 'write' | 'admin';
type UserPersona = 'owner' | 'orgAdmin' | 'reader' | 'writer' | 'outsider';
type MachinePersona = 'pullKey' | 'patternKey' | 'robot' | 'otherRobot';
type RefusedPersona = 'expiredKey' | 'disabledRobot';
type Persona = 'anonymous' | UserPersona | MachinePersona | RefusedPersona;
type Credential = 'none' | 'token' | 'basic' | 'apiKey';
type Repo = 'alice/pub' | 'alice/priv' | 'acme/pub' | 'acme/priv';

const REPOS: Repo[] = ['alice/pub', 'alice/priv', 'acme/pub', 'acme/priv'];
const REGISTRY_TOKEN_TTL = 1234;

/**
 * alice owns the user namespace "alice" and the organization "acme"; frank is an admin of acme;
 * carol has read (a direct grant on alice's repositories, team "readers" on acme's), dave write
 * (the same through "writers"); eve is an outsider. Public repositories give everybody read.
 */
const USER_OF: Record<UserPersona, string> = {
  owner: 'alice',
  orgAdmin: 'frank',
  reader: 'carol',
  writer: 'dave',
  outsider: 'eve',
};

function level(p: Persona, repo: Repo): Level {
  const pub = repo.endsWith('/pub');
  const org = repo.startsWith('acme/');
  const floor: Level = pub ? 'read' : 'none';
  switch (p) {
    case 'owner':
      return 'admin';
    case 'pullKey':
      // alice (admin everywhere) ∩ pull.
      return 'read';
    case 'patternKey':
      // alice ∩ `acme/*`: nothing outside the pattern, public repositories included.
      return org ? 'admin' : 'none';
    case 'robot':
      return repo === 'acme/priv' ? 'write' : floor;
    case 'expiredKey':
    case 'disabledRobot':
      return 'none';
    case 'orgAdmin':
      return org ? 'admin' : floor;
    case 'reader':
      return 'read';
    case 'writer':
      return 'write';
    default:
      return floor;
  }
}

const ACTIONS: Record<Level, Action[]> = {
  none: [],
  read: ['pull'],
  write: ['pull', 'push'],
  admin: ['pull', 'push', 'delete'],
};

let server: TestServer;
let base: string;
let owner: RegistryClient;
const users: Record<string, TestUser> = {};
const apiKeys: Record<string, string> = {};
const tokens: Record<string, string> = {};
let seq = 0;

interface RepoFixture {
  configDigest: string;
  configSize: number;
  layer: string;
  layerDigest: string;
  v1: string;
  referrer: string;
}
const fixtures = {} as Record<Repo, RepoFixture>;

const CONFIG = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } });

function imageManifest(f: RepoFixture, note: string, subject?: string): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...(subject ? { artifactType: 'application/vnd.example.sig' } : {}),
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: f.configDigest,
      size: f.configSize,
    },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: f.layerDigest,
        size: Buffer.byteLength(f.layer),
      },
    ],
    ...(subject
      ? {
          subject: {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: subject,
            size: 1,
          },
        }
      : {}),
    annotations: { note },
  });
}

/** The Basic user name a machine persona's key goes with. */
const KEY_USER: Record<MachinePersona | RefusedPersona, string> = {
  pullKey: 'alice',
  patternKey: 'alice',
  expiredKey: 'alice',
  robot: 'acme+ci',
  otherRobot: 'other+ci',
  disabledRobot: 'acme+off',
};

function headersOf(p: Persona, c: Credential): Record<string, string> {
  if (c === 'none') return {};
  if (c === 'token') return { authorization: `Bearer ${tokens[p]}` };
  if (p in KEY_USER) {
    const key = apiKeys[p];
    if (c === 'basic')
      return { authorization: basicHeader(KEY_USER[p as keyof typeof KEY_USER], key) };
    return { 'x-api-key': key };
  }
  const user = users[USER_OF[p as UserPersona]];
  if (c === 'basic') return { authorization: basicHeader(user.username, user.password) };
  return { 'x-api-key': apiKeys[p] };
}

/** An upload session the owner started (sessions are the repository's, not the starter's). */
async function ownerSession(repo: Repo): Promise<string> {
  return (await owner.startUpload(repo)).location;
}

interface RouteCase {
  route: string;
  needs: Action[];
  success: number;
  /** Makes the request; on success checks what it carries. */
  run(repo: Repo, h: Record<string, string>): Promise<Response>;
}

const CATALOG_AND_BASE = ['GET /v2/', 'GET /v2/_catalog'];

const ROUTES: RouteCase[] = [
  {
    route: 'GET tags/list',
    needs: ['pull'],
    success: 200,
    async run(repo, h) {
      const res = await fetch(`${base}/v2/${repo}/tags/list`, { headers: h });
      if (res.status === 200)
        expect(((await res.clone().json()) as { tags: string[] }).tags).toContain('v1');
      return res;
    },
  },
  ...(['GET', 'HEAD'] as const).map((method): RouteCase => ({
    route: `${method} manifests/<tag>`,
    needs: ['pull'],
    success: 200,
    async run(repo, h) {
      const res = await fetch(`${base}/v2/${repo}/manifests/v1`, {
        method,
        headers: { ...h, accept: 'application/vnd.oci.image.manifest.v1+json' },
      });
      if (res.status === 200) {
        expect(res.headers.get('docker-content-digest')).toBe(fixtures[repo].v1);
        if (method === 'GET')
          expect(sha256(Buffer.from(await res.clone().arrayBuffer()))).toBe(fixtures[repo].v1);
      }
      return res;
    },
  })),
  {
    route: 'PUT manifests/<tag>',
    needs: ['pull', 'push'],
    success: 201,
    async run(repo, h) {
      const body = imageManifest(fixtures[repo], `put ${seq++}`);
      const res = await fetch(`${base}/v2/${repo}/manifests/put-${seq}`, {
        method: 'PUT',
        headers: { ...h, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        body,
      });
      if (res.status === 201) expect(res.headers.get('docker-content-digest')).toBe(sha256(body));
      return res;
    },
  },
  {
    route: 'DELETE manifests/<digest>',
    needs: ['delete'],
    success: 202,
    async run(repo, h) {
      const body = imageManifest(fixtures[repo], `delete ${seq++}`);
      const digest = sha256(body);
      expect((await owner.putManifest(repo, digest, body)).status).toBe(201);
      const res = await fetch(`${base}/v2/${repo}/manifests/${digest}`, {
        method: 'DELETE',
        headers: h,
      });
      const after = await owner.fetch(`/v2/${repo}/manifests/${digest}`, { method: 'HEAD' });
      expect(after.status).toBe(res.status === 202 ? 404 : 200);
      return res;
    },
  },
  ...(['GET', 'HEAD'] as const).map((method): RouteCase => ({
    route: `${method} blobs/<digest>`,
    needs: ['pull'],
    success: 200,
    async run(repo, h) {
      const f = fixtures[repo];
      const res = await fetch(`${base}/v2/${repo}/blobs/${f.layerDigest}`, {
        method,
        headers: h,
      });
      if (res.status === 200) {
        expect(res.headers.get('docker-content-digest')).toBe(f.layerDigest);
        if (method === 'GET') expect(await res.clone().text()).toBe(f.layer);
      }
      return res;
    },
  })),
  {
    route: 'DELETE blobs/<digest>',
    needs: ['delete'],
    success: 202,
    async run(repo, h) {
      const digest = await owner.pushBlob(repo, `blob to delete ${seq++}`);
      const res = await fetch(`${base}/v2/${repo}/blobs/${digest}`, {
        method: 'DELETE',
        headers: h,
      });
      const after = await owner.fetch(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
      expect(after.status).toBe(res.status === 202 ? 404 : 200);
      return res;
    },
  },
  {
    route: 'POST blobs/uploads/',
    needs: ['pull', 'push'],
    success: 202,
    async run(repo, h) {
      const res = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: h });
      if (res.status === 202) expect(res.headers.get('location')).toMatch(/\/blobs\/uploads\//);
      return res;
    },
  },
  ...(['GET', 'HEAD'] as const).map((method): RouteCase => ({
    route: `${method} blobs/uploads/<uuid>`,
    needs: ['pull', 'push'],
    success: 204,
    async run(repo, h) {
      const location = await ownerSession(repo);
      const res = await fetch(`${base}${location}`, { method, headers: h });
      if (res.status === 204) expect(res.headers.get('range')).toBe('0-0');
      return res;
    },
  })),
  {
    route: 'PATCH blobs/uploads/<uuid>',
    needs: ['pull', 'push'],
    success: 202,
    async run(repo, h) {
      const location = await ownerSession(repo);
      const res = await fetch(`${base}${location}`, {
        method: 'PATCH',
        headers: { ...h, 'content-type': 'application/octet-stream' },
        body: 'abc',
      });
      if (res.status === 202) expect(res.headers.get('range')).toBe('0-2');
      return res;
    },
  },
  {
    route: 'PUT blobs/uploads/<uuid>',
    needs: ['pull', 'push'],
    success: 201,
    async run(repo, h) {
      const location = await ownerSession(repo);
      const data = `completed upload ${seq++}`;
      const res = await fetch(`${base}${location}?digest=${sha256(data)}`, {
        method: 'PUT',
        headers: { ...h, 'content-type': 'application/octet-stream' },
        body: data,
      });
      if (res.status === 201) {
        const back = await owner.fetch(`/v2/${repo}/blobs/${sha256(data)}`);
        expect(await back.text()).toBe(data);
      }
      return res;
    },
  },
  {
    route: 'DELETE blobs/uploads/<uuid>',
    needs: ['pull', 'push'],
    success: 204,
    async run(repo, h) {
      const location = await ownerSession(repo);
      const res = await fetch(`${base}${location}`, { method: 'DELETE', headers: h });
      const after = await owner.fetch(location);
      expect(after.status).toBe(res.status === 204 ? 404 : 204);
      return res;
    },
  },
  {
    route: 'GET referrers/<digest>',
    needs: ['pull'],
    success: 200,
    async run(repo, h) {
      const res = await fetch(`${base}/v2/${repo}/referrers/${fixtures[repo].v1}`, { headers: h });
      if (res.status === 200) {
        const index = (await res.clone().json()) as { manifests: { digest: string }[] };
        expect(index.manifests.map((m) => m.digest)).toEqual([fixtures[repo].referrer]);
      }
      return res;
    },
  },
];

const PERSONAS: Persona[] = [
  'anonymous',
  'owner',
  'orgAdmin',
  'reader',
  'writer',
  'outsider',
  'pullKey',
  'patternKey',
  'robot',
  'otherRobot',
];
/** Who gets a registry token (the refused personas get none: see their own test). */
const TOKEN_PERSONAS = PERSONAS;
/** The ways each persona calls (machine personas: a subset, to keep the suite quick). */
const CREDENTIALS_OF: Record<Persona, Credential[]> = {
  anonymous: ['none', 'token'],
  owner: ['token', 'basic', 'apiKey'],
  orgAdmin: ['token', 'basic', 'apiKey'],
  reader: ['token', 'basic', 'apiKey'],
  writer: ['token', 'basic', 'apiKey'],
  outsider: ['token', 'basic', 'apiKey'],
  pullKey: ['token', 'apiKey'],
  patternKey: ['token', 'apiKey'],
  robot: ['token', 'basic', 'apiKey'],
  otherRobot: ['basic'],
  expiredKey: ['basic', 'apiKey'],
  disabledRobot: ['basic', 'apiKey'],
};
const ALL_PERSONAS = Object.keys(CREDENTIALS_OF) as Persona[];
const CALLERS: [Persona, Credential][] = ALL_PERSONAS.flatMap((p) =>
  CREDENTIALS_OF[p].map((c) => [p, c] as [Persona, Credential]),
);
/** Credentials that authenticate nobody: 401 on every route. */
const REFUSED = new Set<Persona>(['anonymous', 'expiredKey', 'disabledRobot']);

function expected(p: Persona, repo: Repo, rc: RouteCase): number {
  const allowed = rc.needs.every((a) => ACTIONS[level(p, repo)].includes(a));
  if (allowed) return rc.success;
  return REFUSED.has(p) ? 401 : 403;
}

beforeAll(async () => {
  server = await startServer({
    env: {
      JWT_SECRET,
      REGISTRY_TOKEN_TTL_SECONDS: String(REGISTRY_TOKEN_TTL),
      AUTH_RATE_LIMIT_PER_ADDRESS: '100000',
      AUTH_RATE_LIMIT_PER_ACCOUNT: '100000',
      AUTH_PASSWORD_CHECKS_PER_ADDRESS: '10000',
    },
  });
  base = server.url;
  for (const name of Object.values(USER_OF)) users[name] = await registerAndLogin(base, name);
  const alice = { bearer: users.alice.accessToken };
  // Expires while the rest is set up (waited for below).
  apiKeys.expiredKey = (
    await ok(base, 'POST', '/api-keys', {
      auth: alice,
      body: { name: 'expiring', actions: ['pull'], expiresAt: new Date(Date.now() + 3000) },
    })
  ).key;
  for (const [p, name] of Object.entries(USER_OF)) {
    apiKeys[p] = (
      await ok(base, 'POST', '/api-keys', {
        auth: { bearer: users[name].accessToken },
        body: { name: 'matrix' },
      })
    ).key;
  }
  apiKeys.pullKey = (
    await ok(base, 'POST', '/api-keys', { auth: alice, body: { name: 'pull', actions: ['pull'] } })
  ).key;
  apiKeys.patternKey = (
    await ok(base, 'POST', '/api-keys', {
      auth: alice,
      body: { name: 'acme', actions: ['pull', 'push', 'delete'], repositories: ['acme/*'] },
    })
  ).key;
  owner = new RegistryClient(base, { 'x-api-key': apiKeys.owner });

  await ok(base, 'POST', '/orgs', { auth: alice, body: { name: 'acme' } });
  for (const [u, role] of [
    ['frank', 'admin'],
    ['carol', 'member'],
    ['dave', 'member'],
  ])
    await ok(base, 'POST', '/orgs/acme/members', { auth: alice, body: { username: u, role } });
  for (const [team, member] of [
    ['readers', 'carol'],
    ['writers', 'dave'],
  ]) {
    await ok(base, 'POST', '/orgs/acme/teams', { auth: alice, body: { name: team } });
    await ok(base, 'PUT', `/orgs/acme/teams/${team}/members/${member}`, { auth: alice });
  }
  // acme's robot writes acme/priv; "other" (eve's organization) has a robot with admin on all of
  // its own repositories (a pattern that, written inside acme, would cover everything).
  apiKeys.robot = (
    await ok(base, 'POST', '/namespaces/acme/robots', {
      auth: alice,
      body: { name: 'ci', grants: [{ repository: 'priv', level: 'write' }] },
    })
  ).key;
  apiKeys.disabledRobot = (
    await ok(base, 'POST', '/namespaces/acme/robots', {
      auth: alice,
      body: { name: 'off', grants: [{ repository: '*', level: 'admin' }] },
    })
  ).key;
  await ok(base, 'PATCH', '/namespaces/acme/robots/off', { auth: alice, body: { disabled: true } });
  const eve = { bearer: users.eve.accessToken };
  await ok(base, 'POST', '/orgs', { auth: eve, body: { name: 'other' } });
  apiKeys.otherRobot = (
    await ok(base, 'POST', '/namespaces/other/robots', {
      auth: eve,
      body: { name: 'ci', grants: [{ repository: '*', level: 'admin' }] },
    })
  ).key;
  for (const repo of REPOS) {
    const [namespace, name] = repo.split('/');
    await ok(base, 'POST', '/repos', {
      auth: alice,
      body: { namespace, name, visibility: name === 'pub' ? 'public' : 'private' },
    });
    await ok(base, 'PUT', `/repos/${repo}/permissions`, {
      auth: alice,
      body:
        namespace === 'acme'
          ? {
              users: [],
              teams: [
                { team: 'readers', level: 'read' },
                { team: 'writers', level: 'write' },
              ],
            }
          : {
              users: [
                { username: 'carol', level: 'read' },
                { username: 'dave', level: 'write' },
              ],
              teams: [],
            },
    });
    const layer = `the layer of ${repo}`;
    const f: RepoFixture = {
      configDigest: await owner.pushBlob(repo, CONFIG),
      configSize: Buffer.byteLength(CONFIG),
      layer,
      layerDigest: await owner.pushBlob(repo, layer),
      v1: '',
      referrer: '',
    };
    const v1 = imageManifest(f, `v1 of ${repo}`);
    expect((await owner.putManifest(repo, 'v1', v1)).status).toBe(201);
    f.v1 = sha256(v1);
    const referrer = imageManifest(f, `signature of ${repo}`, f.v1);
    f.referrer = sha256(referrer);
    expect((await owner.putManifest(repo, f.referrer, referrer)).status).toBe(201);
    fixtures[repo] = f;
  }
  // One registry token per persona, asking for everything: the token endpoint grants the part
  // the persona may have.
  const scopes = [...REPOS.map((r) => `repository:${r}:pull,push,delete`), 'registry:catalog:*'];
  for (const p of TOKEN_PERSONAS) {
    const t = await registryToken(
      base,
      scopes,
      p === 'anonymous'
        ? undefined
        : p in KEY_USER
          ? { basic: [KEY_USER[p as keyof typeof KEY_USER], apiKeys[p]] }
          : {
              basic: [
                users[USER_OF[p as UserPersona]].username,
                users[USER_OF[p as UserPersona]].password,
              ],
            },
    );
    expect(t.status).toBe(200);
    tokens[p] = t.token!;
  }
  await waitFor('the expiring key to expire', async () => {
    const res = await fetch(`${base}/v2/`, { headers: { 'x-api-key': apiKeys.expiredKey } });
    return res.status === 401;
  });
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

const CASES = ROUTES.flatMap((rc) =>
  REPOS.flatMap((repo) =>
    CALLERS.map(
      ([p, c]) => [rc.route, repo, p, c, rc] as [string, Repo, Persona, Credential, RouteCase],
    ),
  ),
);

describe('every registry route × caller × namespace × visibility', () => {
  it.each(CASES)('%s on %s by %s (%s)', async (_route, repo, persona, credential, rc) => {
    const res = await rc.run(repo, headersOf(persona, credential));
    const want = expected(persona, repo, rc);
    expect(res.status).toBe(want);
    if (want === 401) {
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
      if (res.status === 401 && rc.route.split(' ')[0] !== 'HEAD')
        expect(await registryErrorCode(res)).toBe('UNAUTHORIZED');
    }
    if (want === 403 && rc.route.split(' ')[0] !== 'HEAD')
      expect(await registryErrorCode(res)).toBe('DENIED');
  });
});

describe('routes without a repository', () => {
  it.each(CALLERS)(`${CATALOG_AND_BASE.join(' and ')} by %s (%s)`, async (persona, credential) => {
    const h = headersOf(persona, credential);
    const refused = REFUSED.has(persona) && credential !== 'token';
    const baseRes = await fetch(`${base}/v2/`, { headers: h });
    expect(baseRes.status).toBe(refused ? 401 : 200);
    const catalog = await fetch(`${base}/v2/_catalog?n=1000`, { headers: h });
    if (refused) {
      expect(catalog.status).toBe(401);
      return;
    }
    // An anonymous registry token lists what anybody may pull: the public repositories.
    expect(catalog.status).toBe(200);
    const listed = ((await catalog.json()) as { repositories: string[] }).repositories;
    expect(REPOS.filter((r) => listed.includes(r))).toEqual(
      REPOS.filter((r) => level(persona, r) !== 'none'),
    );
  });
});

describe('registry tokens', () => {
  it(`live exactly REGISTRY_TOKEN_TTL_SECONDS (${REGISTRY_TOKEN_TTL} s here)`, async () => {
    const t = await registryToken(base, ['repository:alice/pub:pull'], {
      basic: [users.alice.username, users.alice.password],
    });
    expect(t.body.expires_in).toBe(REGISTRY_TOKEN_TTL);
    const claims = decodeJwt(t.token!);
    expect(claims.exp - claims.iat).toBe(REGISTRY_TOKEN_TTL);
    expect(Math.abs(Date.parse(t.body.issued_at) / 1000 - claims.iat)).toBeLessThanOrEqual(1);
  });

  it('carry exactly the actions the persona has on each repository', () => {
    for (const p of PERSONAS) {
      const access = decodeJwt(tokens[p]).access as { name: string; actions: string[] }[];
      for (const repo of REPOS) {
        const entry = access.find((a) => a.name === repo);
        expect([p, repo, entry?.actions ?? []]).toEqual([p, repo, ACTIONS[level(p, repo)]]);
      }
    }
  });

  it('are refused to an expired key and a disabled robot', async () => {
    for (const p of ['expiredKey', 'disabledRobot'] as const) {
      const t = await registryToken(base, ['repository:acme/pub:pull'], {
        basic: [KEY_USER[p], apiKeys[p]],
      });
      expect([p, t.status]).toEqual([p, 401]);
    }
  });

  it('of a robot name the robot and carry no subject; of a scoped key, only its scope', () => {
    const robot = decodeJwt(tokens.robot);
    expect(robot.name).toBe('acme+ci');
    expect(robot.sub).toBeUndefined();
    const pullKey = decodeJwt(tokens.pullKey).access as { type: string; actions: string[] }[];
    const repoEntries = pullKey.filter((a) => a.type === 'repository');
    expect(repoEntries).toHaveLength(REPOS.length);
    expect(repoEntries.every((a) => a.actions.join() === 'pull')).toBe(true);
  });

  it('the management API refuses keys without `api` and robots (403), not full keys', async () => {
    for (const [p, want] of [
      ['owner', 200],
      ['pullKey', 403],
      ['patternKey', 403],
      ['robot', 403],
      ['expiredKey', 401],
      ['disabledRobot', 401],
    ] as const) {
      const r = await api(base, 'GET', '/users/me', { auth: { apiKey: apiKeys[p] } });
      expect([p, r.status]).toEqual([p, want]);
    }
  });

  it('a signed-in user with no right on a private repository gets no more from the API', async () => {
    const r = await api(base, 'GET', '/repos/alice/priv', {
      auth: { bearer: users.eve.accessToken },
    });
    expect(r.status).toBe(404);
  });
});

describe('repository creators', () => {
  const carol = () => ({ authorization: basicHeader('carol', users.carol.password) });
  const dave = () => ({ authorization: basicHeader('dave', users.dave.password) });
  const startPush = (repo: string, h: Record<string, string>) =>
    fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: h });

  beforeAll(async () => {
    const alice = { bearer: users.alice.accessToken };
    await ok(base, 'POST', '/orgs/acme/teams', {
      auth: alice,
      body: { name: 'creators', canCreateRepositories: true },
    });
    await ok(base, 'PUT', '/orgs/acme/teams/creators/members/dave', { auth: alice });
  });

  it('a creator team member creates by pushing and gets admin; other members cannot', async () => {
    const res = await startPush('acme/made-by-dave', dave());
    expect(res.status).toBe(202);
    const perms = await ok(base, 'GET', '/repos/acme/made-by-dave/permissions', {
      auth: { bearer: users.alice.accessToken },
    });
    expect(perms.users).toEqual([expect.objectContaining({ level: 'admin' })]);
    expect(JSON.stringify(perms.users)).toContain('dave');
    // Admin on it: may delete in it.
    const digest = await new RegistryClient(base, dave()).pushBlob('acme/made-by-dave', 'x');
    const del = await fetch(`${base}/v2/acme/made-by-dave/blobs/${digest}`, {
      method: 'DELETE',
      headers: dave(),
    });
    expect(del.status).toBe(202);

    const refused = await startPush('acme/made-by-carol', carol());
    expect(refused.status).toBe(403);
    expect(await registryErrorCode(refused)).toBe('DENIED');
    // Only in the organization: not in somebody else's user namespace.
    expect((await startPush('alice/made-by-dave', dave())).status).toBe(403);
    // Robots and keys without push never create.
    for (const h of [headersOf('robot', 'basic'), headersOf('pullKey', 'apiKey')])
      expect((await startPush('acme/made-by-machine', h)).status).toBe(403);
  });

  it('through the API too; and no longer once the team loses the permission', async () => {
    const created = await api(base, 'POST', '/repos', {
      auth: { bearer: users.dave.accessToken },
      body: { namespace: 'acme', name: 'api-made', visibility: 'private' },
    });
    expect(created.status).toBe(201);
    const details = await ok(base, 'GET', '/repos/acme/api-made', {
      auth: { bearer: users.dave.accessToken },
    });
    expect(details.permission).toBe('admin');
    const byCarol = await api(base, 'POST', '/repos', {
      auth: { bearer: users.carol.accessToken },
      body: { namespace: 'acme', name: 'api-made-2' },
    });
    expect(byCarol.status).toBe(403);

    await ok(base, 'PATCH', '/orgs/acme/teams/creators', {
      auth: { bearer: users.alice.accessToken },
      body: { canCreateRepositories: false },
    });
    expect((await startPush('acme/made-later', dave())).status).toBe(403);
    // What dave created stays dave's.
    expect((await startPush('acme/made-by-dave', dave())).status).toBe(202);
  });
});
