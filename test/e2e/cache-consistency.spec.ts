// Service-level: nodes run inside the test process (dist/), so that a facts load can be held open
// at a chosen point while another node changes what it is loading. Real PostgreSQL and Redis.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { AccessFactsService } from '../../src/repos/access-facts.service.js';
import type { ReposService } from '../../src/repos/repos.service.js';
import { distClass, type InProcessNode, startInProcess } from '../support/in-process.js';
import { redisRequired, TEST_REDIS_URL } from '../support/redis.js';
import { createTestDatabase, tempDir } from '../support/server.js';
import { ADMIN, type Auth, ok } from './identity-support.js';

const withRedis = (await redisRequired()) ? describe : describe.skip;
const ROOT: Auth = { basic: [ADMIN.username, ADMIN.password] };

/**
 * Makes the node's next repository-facts load stop after it has read the repository row (so it
 * holds the facts as they were) and before it returns; `release` lets it finish.
 */
async function holdNextFactsLoad(node: InProcessNode) {
  const repos = node.get(await distClass<ReposService>('repos/repos.service.js', 'ReposService'));
  const original = repos.userGrantsOf.bind(repos);
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reached = new Promise<void>((r) => (entered = r));
  let armed = true;
  repos.userGrantsOf = async (...args: Parameters<ReposService['userGrantsOf']>) => {
    if (armed) {
      armed = false;
      entered();
      await gate;
    }
    return original(...args);
  };
  return {
    reached,
    release: () => {
      release();
      repos.userGrantsOf = original;
    },
  };
}

async function factsOf(node: InProcessNode): Promise<AccessFactsService> {
  return node.get(
    await distClass<AccessFactsService>('repos/access-facts.service.js', 'AccessFactsService'),
  );
}

/** An anonymous tag list: 200 while the repository is public, 401 once it is private. */
async function anonymousStatus(node: InProcessNode, repo: string): Promise<number> {
  const res = await fetch(`${node.url}/v2/${repo}/tags/list`);
  await res.arrayBuffer();
  return res.status;
}

/**
 * The race of issue 17: a load reads "public", the repository is made private and the change
 * invalidates the facts, then the load finishes. Its stale facts must never be served afterwards.
 */
async function straddle(loadOn: InProcessNode, changeOn: InProcessNode, repo: string) {
  const factsLoad = await holdNextFactsLoad(loadOn);
  const slowLoad = (await factsOf(loadOn)).repository(repo);
  await factsLoad.reached;
  const [namespace, ...rest] = repo.split('/');
  await ok(changeOn.url, 'PATCH', `/repos/${namespace}/${rest.join('/')}`, {
    auth: ROOT,
    body: { visibility: 'private' },
  });
  factsLoad.release();
  // The load answers what it read when it began (its own request started before the change)…
  expect((await slowLoad)?.visibility).toBe('public');
}

const ENV = {
  ADMIN_USERNAME: ADMIN.username,
  ADMIN_PASSWORD: ADMIN.password,
  DEFAULT_REPOSITORY_VISIBILITY: 'public',
  REDIS_TTL_SECONDS: '3600',
};

withRedis('a facts load held open across a change, on two nodes sharing Redis', () => {
  let a: InProcessNode;
  let b: InProcessNode;
  let db: pg.Client;
  let scope: string;
  let redis: Awaited<ReturnType<typeof connectRedis>>;

  async function connectRedis() {
    const { createClient } = await import('@keyv/redis');
    const client = createClient({ url: TEST_REDIS_URL });
    await client.connect();
    return client;
  }

  beforeAll(async () => {
    const databaseUrl = await createTestDatabase();
    const env = {
      ...ENV,
      DATABASE_URL: databaseUrl,
      DATA_DIR: tempDir(),
      REDIS_URL: TEST_REDIS_URL,
    };
    a = await startInProcess(env);
    b = await startInProcess(env);
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    scope = (await db.query(`SELECT value FROM auth_secrets WHERE name = 'cache-scope'`)).rows[0]
      .value;
    redis = await connectRedis();
  }, 120_000);

  afterAll(async () => {
    await redis?.quit().catch(() => undefined);
    await db?.end().catch(() => undefined);
    await a?.close();
    await b?.close();
  });

  it('a load on A that read "public" before B made the repository private never stores it', async () => {
    const repo = `${ADMIN.username}/straddled`;
    await ok(a.url, 'POST', '/repos', {
      auth: ROOT,
      body: { namespace: ADMIN.username, name: 'straddled' },
    });
    // Both nodes serve it anonymously, from facts cached in Redis.
    expect(await anonymousStatus(a, repo)).toBe(200);
    expect(await anonymousStatus(b, repo)).toBe(200);
    await ok(b.url, 'PATCH', `/repos/${repo}`, { auth: ROOT, body: { description: 'touched' } });

    await straddle(a, b, repo);
    // …but stores nothing: both nodes refuse anonymous pulls at once, and agree on the facts.
    expect(await anonymousStatus(a, repo)).toBe(401);
    expect(await anonymousStatus(b, repo)).toBe(401);
    expect((await (await factsOf(a)).repository(repo))?.visibility).toBe('private');
    expect((await (await factsOf(b)).repository(repo))?.visibility).toBe('private');
    const cached = await redis.get(`aerugo:acl:${scope}:repo:${repo}`);
    expect(cached === null || !cached.includes('"public"')).toBe(true);
  });

  it('the same race with the load and the change on one node', async () => {
    const repo = `${ADMIN.username}/same-node`;
    await ok(b.url, 'POST', '/repos', {
      auth: ROOT,
      body: { namespace: ADMIN.username, name: 'same-node' },
    });
    expect(await anonymousStatus(b, repo)).toBe(200);
    await ok(b.url, 'PATCH', `/repos/${repo}`, { auth: ROOT, body: { description: 'touched' } });
    await straddle(b, b, repo);
    expect(await anonymousStatus(b, repo)).toBe(401);
    expect(await anonymousStatus(a, repo)).toBe(401);
  });
});

describe('a facts load held open across a change, on one node with the memory cache', () => {
  let node: InProcessNode;

  beforeAll(async () => {
    node = await startInProcess({
      ...ENV,
      DATABASE_URL: await createTestDatabase(),
      DATA_DIR: tempDir(),
    });
  }, 120_000);

  afterAll(async () => {
    await node?.close();
  });

  it('never stores what the load read before the change', async () => {
    const repo = `${ADMIN.username}/memory`;
    await ok(node.url, 'POST', '/repos', {
      auth: ROOT,
      body: { namespace: ADMIN.username, name: 'memory' },
    });
    expect(await anonymousStatus(node, repo)).toBe(200);
    await ok(node.url, 'PATCH', `/repos/${repo}`, { auth: ROOT, body: { description: 'x' } });
    await straddle(node, node, repo);
    expect(await anonymousStatus(node, repo)).toBe(401);
    expect((await (await factsOf(node)).repository(repo))?.visibility).toBe('private');
  });
});
