import { createServer, type RequestListener, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { createTestDatabase, freePort, startServer, type TestServer } from '../support/server.js';
import { ADMIN, api, type Json, login, ok } from './identity-support.js';

/**
 * OpenID Connect sign-in against a real OpenID provider, the `oidc-provider` package, started
 * here on loopback: one confidential client (client_secret_basic, authorization code, PKCE
 * required), an RS256 key, and an account that each case sets. Its login and consent
 * interactions are answered by a small handler here that signs in the current account and
 * grants the scopes, so the flow is the provider's own: authorize, interaction, resume,
 * code, token endpoint (secret, redirect URI and PKCE verifier checked by the provider).
 *
 * A real provider does not send bad ID tokens by itself: for the two tampered-token cases a
 * middleware in front of the provider's answer from its token endpoint alters the ID token
 * it issued (a flipped signature byte; another nonce, re-signed with the provider's own key so
 * that only the nonce check can refuse it).
 */
const CLIENT_ID = 'aerugo-test';
const CLIENT_SECRET = 'client-secret-for-tests';

interface Account {
  sub: string;
  preferred_username: string;
  groups: string[];
}

let account: Account = { sub: 'sub-alice', preferred_username: 'Alice', groups: [] };
/** How the next ID token is spoiled: a flipped signature byte, or another nonce. */
let spoil: 'none' | 'signature' | 'nonce' = 'none';
let http: Server;
let issuer: string;
let server: TestServer;
let admin: string;

async function startProvider(redirectUri: string): Promise<void> {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const signingKey = await importJWK(jwk, 'RS256');
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    cookies: { keys: ['cookie-key-for-tests'] },
    ttl: {
      AccessToken: 60,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 300,
      Interaction: 600,
      Session: 600,
    },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username'],
      email: ['email'],
      groups: ['groups'],
    },
    // Put the scopes' claims in the ID token (Aerugo reads them there), not only in userinfo.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({
        sub,
        preferred_username: account.preferred_username,
        groups: account.groups,
      }),
    }),
  });
  // The "proxy" in front of the token endpoint: alters the ID token the provider issued.
  provider.use(async (ctx: KoaContextWithOIDC, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== '/token' || spoil === 'none' || typeof body?.id_token !== 'string') return;
    if (spoil === 'signature') {
      const [h, p, s] = body.id_token.split('.');
      body.id_token = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    } else {
      body.id_token = await new SignJWT({ ...decodeJwt(body.id_token), nonce: 'another-nonce' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .sign(signingKey);
    }
    ctx.body = body;
  });
  const callback = provider.callback();
  const handle: RequestListener = (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return void callback(req, res);
    // Login and consent at once, as the current account, with every scope asked for.
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      const grant = new provider.Grant({ accountId: account.sub, clientId: CLIENT_ID });
      grant.addOIDCScope(String(details.params.scope));
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account.sub }, consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: false },
      );
    })().catch((e: unknown) => {
      res.statusCode = 500;
      res.end(String(e));
    });
  };
  http = createServer(handle);
  await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
}

const cookieOf = (res: Response, name: string): string | undefined =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);

/**
 * Starts a sign-in: follows the provider's redirects (authorization, interaction, resume) with a
 * fresh cookie jar, i.e. a browser without a session at the provider, up to its redirect back to
 * the callback. Returns that redirect and Aerugo's state cookie.
 */
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
  const jar = new Map<string, string>();
  let next = new URL(start.headers.get('location')!);
  for (let hops = 0; next.origin === issuer; hops++) {
    expect(hops).toBeLessThan(10);
    const res = await fetch(next, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const c of res.headers.getSetCookie()) {
      const [name, value] = c.split(';')[0].split(/=(.*)/s);
      if (value) jar.set(name, value);
      else jar.delete(name);
    }
    expect([302, 303]).toContain(res.status);
    next = new URL(res.headers.get('location')!, next);
  }
  return { callback: next.toString(), cookie };
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
  const port = await freePort();
  await startProvider(`http://127.0.0.1:${port}/api/v1/auth/oidc/callback`);
  server = await startServer({
    port,
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
  await new Promise((r) => http?.close(r));
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
