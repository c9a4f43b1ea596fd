// Issue 8: an authorized manifest GET/HEAD or blob HEAD answered from warm caches makes no database
// round trip. Nodes run inside the test process (dist/), so that every statement sent to
// PostgreSQL can be attributed to the HTTP request that caused it: each request the node serves
// runs in an AsyncLocalStorage context of its own, and the pg client's `query` counts the
// statements sent from such a context (background work, such as flushing pull counts, runs
// outside any request and is not counted). Real PostgreSQL, the memory cache and Redis.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Server } from 'node:http';
import pg from 'pg';
import { type InProcessNode, startInProcess } from '../support/in-process.js';
import { redisRequired, TEST_REDIS_URL } from '../support/redis.js';
import { basicHeader, RegistryClient, sha256 } from '../support/registry.js';
import { createTestDatabase, tempDir } from '../support/server.js';
import { ADMIN, type Auth, ok, registerAndLogin, registryToken } from './identity-support.js';

const ROOT: Auth = { basic: [ADMIN.username, ADMIN.password] };
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** Statements sent to PostgreSQL from within one request, by request. */
interface RequestQueries {
  statements: string[];
}

const requestContext = new AsyncLocalStorage<RequestQueries>();

/** Counts every statement sent from a request context (once, for every pg client). */
function countStatements(): void {
  const proto = pg.Client.prototype as unknown as {
    query: (...args: unknown[]) => unknown;
    __counted?: boolean;
  };
  if (proto.__counted) return;
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const store = requestContext.getStore();
    if (store) {
      const q = args[0];
      const text = typeof q === 'string' ? q : ((q as { text?: string })?.text ?? String(q));
      store.statements.push(text.replace(/\s+/g, ' ').slice(0, 160));
    }
    return original.apply(this, args);
  };
  proto.__counted = true;
}

/** Runs each request the node serves in a context of its own (the last one is kept in `last`). */
function trackRequests(node: InProcessNode): { last(): RequestQueries | undefined } {
  const server = node.app.getHttpServer() as Server;
  const listeners = server.listeners('request') as ((...a: unknown[]) => void)[];
  server.removeAllListeners('request');
  let last: RequestQueries | undefined;
  for (const l of listeners)
    server.on('request', (...args: unknown[]) => {
      const store: RequestQueries = { statements: [] };
      last = store;
      requestContext.run(store, () => l(...args));
    });
  return { last: () => last };
}

interface Target {
  node: InProcessNode;
  tracker: { last(): RequestQueries | undefined };
}

/** Sends one request and returns its status and the statements it caused. */
async function measured(
  t: Target,
  method: 'GET' | 'HEAD' | 'DELETE',
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; statements: string[] }> {
  const res = await fetch(`${t.node.url}${path}`, { method, headers });
  await res.arrayBuffer();
  const store = t.tracker.last();
  return { status: res.status, statements: store ? [...store.statements] : ['<no context>'] };
}

async function setup(env: Record<string, string>): Promise<Target> {
  countStatements();
  const node = await startInProcess({
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    DATA_DIR: tempDir(),
    REDIS_TTL_SECONDS: '3600',
    ...env,
  });
  return { node, tracker: trackRequests(node) };
}

/** The hot reads of a pull, against one repository holding one image. */
function reads(repo: string, manifest: string, blob: string) {
  return [
    ['manifest GET by tag', 'GET', `/v2/${repo}/manifests/v1`],
    ['manifest GET by digest', 'GET', `/v2/${repo}/manifests/${manifest}`],
    ['manifest HEAD by tag', 'HEAD', `/v2/${repo}/manifests/v1`],
    ['manifest HEAD by digest', 'HEAD', `/v2/${repo}/manifests/${manifest}`],
    ['blob HEAD', 'HEAD', `/v2/${repo}/blobs/${blob}`],
  ] as const;
}

/**
 * Warms each read up, then asserts that repeating it costs no statement (or, with `allowed`,
 * exactly one statement matching it per request).
 */
async function expectWarmReadsFree(
  t: Target,
  repo: string,
  image: { manifest: string; blob: string },
  headers: Record<string, string>,
  allowed?: RegExp,
): Promise<void> {
  const all = { accept: MANIFEST_TYPE, ...headers };
  for (const [, method, path] of reads(repo, image.manifest, image.blob)) {
    for (let i = 0; i < 2; i++) expect((await measured(t, method, path, all)).status).toBe(200);
  }
  const seen: Record<string, string[]> = {};
  for (const [name, method, path] of reads(repo, image.manifest, image.blob)) {
    for (let i = 0; i < 3; i++) {
      const r = await measured(t, method, path, all);
      expect(r.status).toBe(200);
      seen[name] = [
        ...(seen[name] ?? []),
        ...(allowed && r.statements.length === 1 && allowed.test(r.statements[0])
          ? []
          : r.statements),
      ];
    }
  }
  expect(seen).toEqual(Object.fromEntries(Object.keys(seen).map((k) => [k, []])));
}

async function pushImage(
  t: Target,
  repo: string,
  layer: string,
): Promise<{ manifest: string; blob: string }> {
  const client = new RegistryClient(t.node.url, {
    authorization: basicHeader(ADMIN.username, ADMIN.password),
  });
  const { digest } = await client.pushImage(repo, 'v1', [layer]);
  return { manifest: digest, blob: sha256(layer) };
}

/**
 * One node (`twoNodes` false: the memory cache) or two sharing PostgreSQL and Redis, where the
 * writes go through the second node and the reads through the first.
 */
/**
 * A registry bearer token of a sign-in session: `docker login` takes a refresh token (offline
 * token), then exchanges it for an access token scoped to pulling `repo`.
 */
async function sessionBearer(
  url: string,
  username: string,
  password: string,
  repo: string,
): Promise<{ authorization: string }> {
  const offline = await fetch(
    `${url}/auth/token?service=aerugo&offline_token=true&scope=repository:${repo}:pull`,
    { headers: { authorization: basicHeader(username, password) } },
  );
  const refresh = ((await offline.json()) as { refresh_token: string }).refresh_token;
  const res = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refresh,
      service: 'aerugo',
      scope: `repository:${repo}:pull`,
    }).toString(),
  });
  return {
    authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}`,
  };
}

function suite(name: string, env: () => Record<string, string>, twoNodes: boolean) {
  describe(name, () => {
    let t: Target;
    let writer: Target;
    const repo = `${ADMIN.username}/warm`;
    let image: { manifest: string; blob: string };

    beforeAll(async () => {
      const shared = { ...env(), DATABASE_URL: await createTestDatabase() };
      t = await setup(shared);
      writer = twoNodes ? await setup(shared) : t;
      image = await pushImage(writer, repo, `layer of ${name}`);
    }, 120_000);

    afterAll(async () => {
      if (writer !== t) await writer?.node.close();
      await t?.node.close();
    });

    it('counts the statements of a request whose facts are not cached (the counter works)', async () => {
      await ok(t.node.url, 'PATCH', `/repos/${repo}`, { auth: ROOT, body: { description: 'x' } });
      const { token } = await registryToken(t.node.url, [`repository:${repo}:pull`], ROOT);
      const r = await measured(t, 'HEAD', `/v2/${repo}/blobs/${image.blob}`, {
        authorization: `Bearer ${token}`,
      });
      expect(r.status).toBe(200);
      expect(r.statements.length).toBeGreaterThan(0);
    });

    it('a bearer token issued for a password: no statement on a warm pull', async () => {
      const { token } = await registryToken(t.node.url, [`repository:${repo}:pull`], ROOT);
      await expectWarmReadsFree(t, repo, image, { authorization: `Bearer ${token}` });
    });

    it('a bearer token of a refresh token (a session): no statement on a warm pull with Redis', async () => {
      const bearer = await sessionBearer(t.node.url, ADMIN.username, ADMIN.password, repo);
      // Sessions are cached in Redis only: without it, one read of the session per request.
      await expectWarmReadsFree(t, repo, image, bearer, twoNodes ? undefined : /AuthSessionEntity/);
      // Ending the session (on the other node) refuses its tokens at once.
      const sessions = await ok(writer.node.url, 'GET', '/auth/sessions', { auth: ROOT });
      const live = (sessions.items as { id: string; kind: string }[]).filter(
        (x) => x.kind === 'registry',
      );
      expect(live).toHaveLength(1);
      await ok(writer.node.url, 'DELETE', `/auth/sessions/${live[0].id}`, { auth: ROOT });
      const after = await measured(t, 'HEAD', `/v2/${repo}/blobs/${image.blob}`, bearer);
      expect(after.status).toBe(401);
    });

    it("a password change ends the user's other sessions at once: their tokens are refused", async () => {
      const carol = await registerAndLogin(writer.node.url, 'carol', 'carol-password-1');
      const own = `carol/app`;
      const pushed = await new RegistryClient(writer.node.url, {
        authorization: basicHeader('carol', carol.password),
      }).pushImage(own, 'v1', ['carol layer']);
      const bearer = await sessionBearer(t.node.url, 'carol', carol.password, own);
      const head = `/v2/${own}/blobs/${sha256('carol layer')}`;
      for (let i = 0; i < 2; i++)
        expect((await measured(t, 'HEAD', head, bearer)).status).toBe(200);
      const manifest = `/v2/${own}/manifests/${pushed.digest}`;
      expect((await measured(t, 'HEAD', manifest, bearer)).status).toBe(200);
      await ok(writer.node.url, 'PUT', '/users/me/password', {
        auth: { bearer: carol.accessToken },
        body: { currentPassword: carol.password, newPassword: 'carol-password-2' },
        expect: 204,
      });
      expect((await measured(t, 'HEAD', head, bearer)).status).toBe(401);
      expect((await measured(t, 'HEAD', manifest, bearer)).status).toBe(401);
    });

    it('a bearer token of an API key, and the key itself: no statement on a warm pull', async () => {
      const key = (await ok(t.node.url, 'POST', '/api-keys', { auth: ROOT, body: { name: 'k' } }))
        .key as string;
      const { token } = await registryToken(t.node.url, [`repository:${repo}:pull`], {
        basic: [ADMIN.username, key],
      });
      await expectWarmReadsFree(t, repo, image, { authorization: `Bearer ${token}` });
      await expectWarmReadsFree(t, repo, image, { 'x-api-key': key });
      await expectWarmReadsFree(t, repo, image, {
        authorization: basicHeader(ADMIN.username, key),
      });
    });

    it('a robot, with a token and with its key: no statement on a warm pull', async () => {
      const robot = await ok(t.node.url, 'POST', `/namespaces/${ADMIN.username}/robots`, {
        auth: ROOT,
        body: { name: 'ci', grants: [{ repository: 'warm', level: 'read' }] },
      });
      const basic = basicHeader(`${ADMIN.username}+ci`, robot.key as string);
      const { token } = await registryToken(t.node.url, [`repository:${repo}:pull`], {
        headers: { authorization: basic },
      });
      await expectWarmReadsFree(t, repo, image, { authorization: `Bearer ${token}` });
      await expectWarmReadsFree(t, repo, image, { authorization: basic });
    });

    it('Basic with a password: no statement on a warm pull', async () => {
      await expectWarmReadsFree(t, repo, image, {
        authorization: basicHeader(ADMIN.username, ADMIN.password),
      });
    });

    it('a blob DELETE, then a repository delete, is seen at once by the next warm read', async () => {
      const doomed = `${ADMIN.username}/doomed`;
      const pushed = await pushImage(writer, doomed, `doomed layer of ${name}`);
      const { token } = await registryToken(t.node.url, [`repository:${doomed}:pull`], ROOT);
      const bearer = { authorization: `Bearer ${token}` };
      await expectWarmReadsFree(t, doomed, pushed, bearer);

      const unlinked = await fetch(`${writer.node.url}/v2/${doomed}/blobs/${pushed.blob}`, {
        method: 'DELETE',
        headers: { authorization: basicHeader(ADMIN.username, ADMIN.password) },
      });
      expect(unlinked.status).toBe(202);
      expect((await measured(t, 'HEAD', `/v2/${doomed}/blobs/${pushed.blob}`, bearer)).status).toBe(
        404,
      );
      const manifestPath = `/v2/${doomed}/manifests/${pushed.manifest}`;
      expect(
        (await measured(t, 'HEAD', manifestPath, { accept: MANIFEST_TYPE, ...bearer })).status,
      ).toBe(200);

      // The config blob, warm too, then the repository deleted on the other node.
      const manifest = (await (
        await fetch(`${t.node.url}${manifestPath}`, {
          headers: { accept: MANIFEST_TYPE, ...bearer },
        })
      ).json()) as { config: { digest: string } };
      const configPath = `/v2/${doomed}/blobs/${manifest.config.digest}`;
      for (let i = 0; i < 2; i++)
        expect((await measured(t, 'HEAD', configPath, bearer)).status).toBe(200);
      expect((await measured(t, 'HEAD', configPath, bearer)).statements).toEqual([]);
      await ok(writer.node.url, 'DELETE', `/repos/${doomed}`, { auth: ROOT, expect: 204 });
      expect((await measured(t, 'HEAD', configPath, bearer)).status).toBe(404);
      expect(
        (await measured(t, 'HEAD', manifestPath, { accept: MANIFEST_TYPE, ...bearer })).status,
      ).toBe(404);
      expect((await measured(t, 'HEAD', `/v2/${doomed}/manifests/v1`, bearer)).status).toBe(404);
    });
  });
}

suite('warm reads, memory cache', () => ({}), false);
const withRedis = (await redisRequired()) ? suite : () => undefined;
withRedis('warm reads, two nodes sharing Redis', () => ({ REDIS_URL: TEST_REDIS_URL }), true);
