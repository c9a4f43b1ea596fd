import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createTestDatabase, startServer, type TestServer } from '../support/server.js';
import { ADMIN, api, type Json, login, ok } from './identity-support.js';

/**
 * OpenID Connect sign-in against a real (small) OpenID provider on loopback, written here with
 * jose: discovery, JWKS, an authorization endpoint that approves at once (as `account`, and only
 * with a PKCE S256 challenge) and a token endpoint that checks the client secret, the redirect
 * URI and the PKCE verifier before it signs the ID token.
 */
const CLIENT_ID = 'aerugo-test';
const CLIENT_SECRET = 'client-secret-for-tests';

interface Account {
  sub: string;
  preferred_username: string;
  groups: string[];
}

let account: Account = { sub: 'sub-alice', preferred_username: 'Alice', groups: [] };
/** How the next ID token is spoiled: signed with another key, or carrying another nonce. */
let spoil: 'none' | 'signature' | 'nonce' = 'none';
let provider: Server;
let issuer: string;
let server: TestServer;
let admin: string;

async function startProvider(): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const stranger = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const codes = new Map<
    string,
    { nonce: string; challenge: string; redirectUri: string; who: Account }
  >();
  provider = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration')
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      });
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      if (
        q.get('client_id') !== CLIENT_ID ||
        q.get('response_type') !== 'code' ||
        q.get('code_challenge_method') !== 'S256' ||
        !q.get('code_challenge') ||
        !q.get('nonce') ||
        !q.get('scope')?.split(' ').includes('openid')
      )
        return json(400, { error: 'invalid_request' });
      const code = randomBytes(16).toString('hex');
      codes.set(code, {
        nonce: q.get('nonce')!,
        challenge: q.get('code_challenge')!,
        redirectUri: q.get('redirect_uri')!,
        who: { ...account },
      });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        void (async () => {
          const form = new URLSearchParams(raw);
          const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
          const grant = codes.get(form.get('code') ?? '');
          codes.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          if (
            req.headers.authorization !== basic ||
            !grant ||
            form.get('redirect_uri') !== grant.redirectUri ||
            createHash('sha256').update(verifier).digest('base64url') !== grant.challenge
          )
            return json(400, { error: 'invalid_grant' });
          const idToken = await new SignJWT({
            nonce: spoil === 'nonce' ? 'another-nonce' : grant.nonce,
            preferred_username: grant.who.preferred_username,
            groups: grant.who.groups,
          })
            .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
            .setIssuer(issuer)
            .setSubject(grant.who.sub)
            .setAudience(CLIENT_ID)
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign(spoil === 'signature' ? stranger.privateKey : privateKey);
          json(200, { access_token: 'at', token_type: 'Bearer', id_token: idToken });
        })();
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
}

const cookieOf = (res: Response, name: string): string | undefined =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);

/** Starts a sign-in: the provider's redirect back to the callback and the state cookie. */
async function toCallback(
  returnTo = '/repositories',
): Promise<{ callback: string; cookie: string }> {
  const start = await fetch(
    `${server.url}/api/v1/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`,
    { redirect: 'manual' },
  );
  expect(start.status).toBe(302);
  const cookie = cookieOf(start, 'aerugo_oidc_state')!;
  expect(cookie).toBeDefined();
  const authorize = await fetch(start.headers.get('location')!, { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  return { callback: authorize.headers.get('location')!, cookie };
}

async function finish(callback: string, cookie?: string): Promise<Response> {
  return fetch(callback, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}

/** A whole sign-in as `account`: the user the refresh cookie belongs to. */
async function signIn(returnTo = '/repositories'): Promise<Json> {
  const { callback, cookie } = await toCallback(returnTo);
  const done = await finish(callback, cookie);
  expect(done.status).toBe(302);
  expect(done.headers.get('location')).toBe(returnTo);
  const refresh = cookieOf(done, 'aerugo_refresh')!;
  expect(refresh).toBeDefined();
  const pair = await api(server.url, 'POST', '/auth/refresh', {
    body: {},
    headers: { cookie: refresh },
  });
  expect(pair.status).toBe(200);
  return ok(server.url, 'GET', '/auth/me', { auth: { bearer: pair.body.accessToken as string } });
}

async function members(org: string): Promise<string[]> {
  const page = await ok(server.url, 'GET', `/orgs/${org}/members?perPage=100`, {
    auth: { bearer: admin },
  });
  return ((page.items ?? page) as Json[]).map(
    (m) => (m.user as Json | undefined)?.username ?? m.username,
  ) as string[];
}

beforeAll(async () => {
  await startProvider();
  server = await startServer({
    databaseUrl: await createTestDatabase(),
    env: {
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_ADMIN_GROUP: 'registry-admins',
      OIDC_SYNC_ORGS: 'true',
      LOCAL_PASSWORDS: 'admins',
    },
  });
  admin = (await login(server.url, ADMIN.username, ADMIN.password)).accessToken;
  for (const name of ['acme', 'globex'])
    await ok(server.url, 'POST', '/orgs', { auth: { bearer: admin }, body: { name } });
});

afterAll(async () => {
  await server?.stop();
  await new Promise((r) => provider?.close(r));
});

describe('OpenID Connect sign-in', () => {
  it('says that single sign-on is on', async () => {
    expect(await ok(server.url, 'GET', '/auth/oidc')).toEqual({
      enabled: true,
      loginUrl: '/api/v1/auth/oidc/login',
      localPasswords: false,
    });
  });

  it('creates the user on first sign-in and links the same user by sub afterwards', async () => {
    account = { sub: 'sub-alice', preferred_username: 'Alice', groups: [] };
    const first = await signIn();
    expect(first).toMatchObject({ username: 'alice', isAdmin: false });
    // A new name at the provider does not make a new account: the link is the sub.
    account = { sub: 'sub-alice', preferred_username: 'alice-renamed', groups: [] };
    const second = await signIn('/orgs/acme?tab=members');
    expect(second.id).toBe(first.id);
    expect(second.username).toBe('alice');
    // Another identity with the same name is not linked to the account by its name.
    account = { sub: 'sub-impostor', preferred_username: 'alice', groups: [] };
    const { callback, cookie } = await toCallback();
    expect((await finish(callback, cookie)).status).toBe(409);
  });

  it('records the sign-in as auth.signed-in via oidc', async () => {
    const page = await ok(server.url, 'GET', '/audit?action=auth.signed-in&limit=100', {
      auth: { bearer: admin },
    });
    const oidc = (page.items as Json[]).filter((e) => JSON.stringify(e).includes('"via":"oidc"'));
    expect(oidc.length).toBeGreaterThanOrEqual(2);
  });

  it('makes members of the admin group administrators, and takes it back without it', async () => {
    account = { sub: 'sub-carol', preferred_username: 'carol', groups: ['registry-admins'] };
    expect(await signIn()).toMatchObject({ username: 'carol', isAdmin: true });
    account = { ...account, groups: [] };
    expect(await signIn()).toMatchObject({ username: 'carol', isAdmin: false });
  });

  it('syncs organization membership from the groups claim', async () => {
    account = { sub: 'sub-dave', preferred_username: 'dave', groups: ['acme', 'no-such-org'] };
    await signIn();
    expect(await members('acme')).toContain('dave');
    expect(await members('globex')).not.toContain('dave');
    account = { ...account, groups: ['globex'] };
    await signIn();
    expect(await members('acme')).not.toContain('dave');
    expect(await members('globex')).toContain('dave');
  });

  it('refuses a wrong or missing state', async () => {
    account = { sub: 'sub-erin', preferred_username: 'erin', groups: [] };
    const { callback, cookie } = await toCallback();
    const wrong = new URL(callback);
    wrong.searchParams.set('state', 'not-the-state');
    expect((await finish(wrong.toString(), cookie)).status).toBe(400);
    expect((await finish(callback)).status).toBe(400); // no state cookie: another browser
    expect((await finish(callback, 'aerugo_oidc_state=forged')).status).toBe(400);
    // The state was not used up by the refusals; it is used once.
    expect((await finish(callback, cookie)).status).toBe(302);
    expect((await finish(callback, cookie)).status).toBe(400);
  });

  it('refuses an ID token with a bad signature', async () => {
    account = { sub: 'sub-frank', preferred_username: 'frank', groups: [] };
    spoil = 'signature';
    try {
      const { callback, cookie } = await toCallback();
      const res = await finish(callback, cookie);
      expect(res.status).toBe(401);
      expect(cookieOf(res, 'aerugo_refresh')).toBeUndefined();
    } finally {
      spoil = 'none';
    }
  });

  it('refuses an ID token with another nonce', async () => {
    account = { sub: 'sub-frank', preferred_username: 'frank', groups: [] };
    spoil = 'nonce';
    try {
      const { callback, cookie } = await toCallback();
      expect((await finish(callback, cookie)).status).toBe(401);
    } finally {
      spoil = 'none';
    }
    const users = await ok(server.url, 'GET', '/users?q=frank', { auth: { bearer: admin } });
    expect(JSON.stringify(users)).not.toContain('frank');
  });

  it.each(['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'relative'])(
    'refuses returnTo %s',
    async (returnTo) => {
      const res = await fetch(
        `${server.url}/api/v1/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`,
        { redirect: 'manual' },
      );
      expect(res.status).toBe(400);
    },
  );

  it("LOCAL_PASSWORDS=admins refuses a non-admin's password and keeps the admin's", async () => {
    await ok(server.url, 'POST', '/auth/register', {
      body: { username: 'gina', password: 'gina-password-1' },
    });
    const refused = await api(server.url, 'POST', '/auth/login', {
      body: { username: 'gina', password: 'gina-password-1' },
    });
    expect(refused.status).toBe(401);
    await login(server.url, ADMIN.username, ADMIN.password);
  });
});
