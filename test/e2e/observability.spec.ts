import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import pg from 'pg';
import {
  adminApiKey,
  basicHeader,
  RegistryClient,
  TEST_ADMIN,
  waitFor,
} from '../support/registry.js';
import {
  createTestDatabase,
  freePort,
  startServer,
  tempDir,
  type TestServer,
} from '../support/server.js';
import { describeIfSkopeo, mkimage, skopeo, useSkopeoCreds } from '../support/skopeo.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const REPO = 'obs-team/app';

type Scrape = Map<string, PromFamily> & { text: string };

/** Scrapes and parses (a text that does not parse fails the test). */
async function scrape(url: string, token = METRICS_TOKEN): Promise<Scrape> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = parsePrometheusTextFormat(text);
  return Object.assign(new Map(families.map((f) => [f.name, f])), { text });
}

/** The labels and value of each sample line of one series (`name{a="b",…} value`). */
function samples(
  text: string,
  series: string,
): { labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== series) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

/**
 * Sum of a counter or gauge, or of a histogram's `_count`, over the samples whose labels include
 * `match` (read from the text: the parser folds the samples of a labelled histogram into one).
 */
function total(metrics: Scrape, name: string, match: Record<string, string> = {}): number {
  const family = metrics.get(name);
  if (!family) return 0;
  const series = family.type === 'HISTOGRAM' ? `${name}_count` : name;
  return samples(metrics.text, series)
    .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

interface RepoDetails {
  pullCount: number;
  lastPulledAt: string | null;
  tags: { name: string; pullCount: number; lastPulledAt: string | null }[];
}

/** JSON access log lines of a server, parsed. */
function accessLines(server: TestServer): Record<string, unknown>[] {
  return server
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes('"msg":"request"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('metrics, access logs, health and pull statistics', () => {
  let server: TestServer;
  let metricsPort: number;
  let apiKey: string;
  let client: RegistryClient;
  let pushedDigest: string;

  beforeAll(async () => {
    metricsPort = await freePort();
    server = await startServer({
      env: {
        LOG_LEVEL: 'log',
        METRICS_TOKEN,
        METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
        PULL_STATS_FLUSH_SECONDS: '1',
      },
    });
    apiKey = await adminApiKey(server.url);
    client = new RegistryClient(server.url, { 'x-api-key': apiKey });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('serves /metrics only with the bearer token, on the public port and on METRICS_ADDRESS', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${server.url}/metrics`, {
      headers: { authorization: 'Bearer not-the-metrics-token' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(401);
    const pub = await scrape(`${server.url}/metrics`);
    const side = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
    for (const m of [pub, side]) {
      expect(m.get('aerugo_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
      expect(m.has('process_cpu_user_seconds_total')).toBe(true);
      expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true);
    }
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
  });

  it('counts pushes and pulls, with route kinds and never a repository name, tag or digest', async () => {
    const before = await scrape(`${server.url}/metrics`);
    const pushed = await client.pushImage(REPO, 'v1', ['layer one', 'layer two']);
    pushedDigest = pushed.digest;
    for (let i = 0; i < 3; i++)
      expect((await client.fetch(`/v2/${REPO}/manifests/v1`)).status).toBe(200);
    expect((await client.fetch(`/v2/${REPO}/manifests/${pushedDigest}`)).status).toBe(200);
    // HEAD is no pull.
    expect((await client.fetch(`/v2/${REPO}/manifests/v1`, { method: 'HEAD' })).status).toBe(200);
    expect((await client.fetch(`/v2/${REPO}/manifests/missing`)).status).toBe(404);
    const after = await scrape(`${server.url}/metrics`);

    const delta = (name: string, match?: Record<string, string>) =>
      total(after, name, match) - total(before, name, match);
    expect(delta('aerugo_manifests_pushed_total')).toBe(1);
    expect(delta('aerugo_manifests_pulled_total')).toBe(4);
    const requests = 'aerugo_http_request_duration_seconds';
    expect(
      delta(requests, { area: 'registry', route: 'manifest', method: 'GET', status: '200' }),
    ).toBe(4);
    expect(
      delta(requests, { area: 'registry', route: 'manifest', method: 'PUT', status: '201' }),
    ).toBe(1);
    expect(
      delta(requests, { area: 'registry', route: 'manifest', method: 'GET', status: '404' }),
    ).toBe(1);
    expect(
      delta(requests, { area: 'registry', route: 'uploadStart', method: 'POST', status: '201' }),
    ).toBe(3);
    expect(
      delta('aerugo_http_received_bytes_total', { area: 'registry', route: 'uploadStart' }),
    ).toBeGreaterThanOrEqual('layer one'.length + 'layer two'.length);
    expect(
      delta('aerugo_http_sent_bytes_total', { area: 'registry', route: 'manifest' }),
    ).toBeGreaterThanOrEqual(4 * pushed.body.length);
    expect(
      delta('aerugo_storage_operation_duration_seconds', {
        driver: 'filesystem',
        operation: 'commitUpload',
        outcome: 'ok',
      }),
    ).toBe(3);
    expect(delta('aerugo_cache_lookups_total')).toBeGreaterThan(0);
    expect(total(after, 'aerugo_uploads_in_progress')).toBe(0);
    expect(samples(after.text, 'aerugo_db_pool_connections').map((s) => s.labels.state)).toEqual(
      expect.arrayContaining(['in_use', 'idle']),
    );
    expect(after.has('aerugo_db_pool_waiting')).toBe(true);

    // Bounded labels: no repository name, tag or digest anywhere.
    const text = await (
      await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      })
    ).text();
    expect(text).not.toContain('obs-team');
    expect(text).not.toContain('sha256:');
    expect(text).not.toContain('missing');
    const routes = new Set(
      samples(text, `${requests}_count`).map((s) => `${s.labels.area} ${s.labels.route}`),
    );
    for (const r of routes)
      expect(r).toMatch(/^(registry [a-zA-Z]+|api \/api\/v1\/\S*|other \S+)$/);
    expect(routes).toContain('api /api/v1/api-keys');
  });

  (describeIfSkopeo() ? it : it.skip)(
    'moves the counters with a real client: skopeo pushes and pulls an image',
    async () => {
      const host = `127.0.0.1:${server.port}`;
      useSkopeoCreds(`${TEST_ADMIN.username}:${apiKey}`);
      const src = tempDir('aerugo-img-');
      // A seed of its own: layers another suite pushed (to a server that had this port) would be in
      // skopeo's blob-info cache, and skopeo would skip uploading them.
      await mkimage(src, 'v1', '64k,16k', '--seed', `obs-${process.pid}-${Date.now()}`);
      const before = await scrape(`${server.url}/metrics`);
      await skopeo(
        'copy',
        '--dest-tls-verify=false',
        `oci:${src}:v1`,
        `docker://${host}/obs-team/skopeo:v1`,
      );
      const out = tempDir('aerugo-pull-');
      await skopeo(
        'copy',
        '--src-tls-verify=false',
        `docker://${host}/obs-team/skopeo:v1`,
        `oci:${out}:v1`,
      );
      const after = await scrape(`${server.url}/metrics`);
      const delta = (name: string, match?: Record<string, string>) =>
        total(after, name, match) - total(before, name, match);
      expect(delta('aerugo_manifests_pushed_total')).toBe(1);
      expect(delta('aerugo_manifests_pulled_total')).toBeGreaterThanOrEqual(1);
      expect(
        delta('aerugo_http_request_duration_seconds', {
          area: 'registry',
          route: 'blob',
          method: 'GET',
        }),
      ).toBeGreaterThanOrEqual(3);
      expect(
        delta('aerugo_http_received_bytes_total', { area: 'registry' }),
      ).toBeGreaterThanOrEqual(80 * 1024);
      expect(
        delta('aerugo_http_sent_bytes_total', { area: 'registry', route: 'blob' }),
      ).toBeGreaterThanOrEqual(80 * 1024);
      expect(after.text).not.toContain('skopeo');
    },
  );

  it('shows pull counts and last pull times per repository and per tag, written in batches', async () => {
    type Seen = { repo: number; tag: number | undefined };
    let seen: Seen = { repo: -1, tag: undefined };
    let details: RepoDetails | undefined;
    await waitFor('pull counts to be written', async () => {
      const res = await client.fetch(`/api/v1/repos/${REPO}`);
      details = (await res.json()) as RepoDetails;
      seen = { repo: details.pullCount, tag: details.tags.find((t) => t.name === 'v1')?.pullCount };
      return seen.repo === 4 && seen.tag === 3;
    });
    expect(seen).toEqual({ repo: 4, tag: 3 });
    expect(Date.parse(details!.lastPulledAt!)).toBeGreaterThan(Date.now() - 120_000);
    expect(details!.tags[0].lastPulledAt).not.toBeNull();
  });

  it('logs one JSON line per request with id, actor, route, repository, status and bytes', async () => {
    const given = await client.fetch(`/v2/${REPO}/manifests/v1`, {
      headers: { 'x-request-id': 'trace-0001.abc' },
    });
    expect(given.headers.get('x-request-id')).toBe('trace-0001.abc');
    const odd = await client.fetch(`/v2/${REPO}/manifests/v1`, {
      headers: { 'x-request-id': 'has spaces and "quotes"' },
    });
    const generated = odd.headers.get('x-request-id')!;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor('the access log lines', () =>
      accessLines(server).some((l) => l.reqId === generated),
    );
    const line = accessLines(server).find((l) => l.reqId === 'trace-0001.abc');
    expect(line).toMatchObject({
      level: 'info',
      client: '127.0.0.1',
      user: TEST_ADMIN.username,
      method: 'GET',
      area: 'registry',
      route: 'manifest',
      repository: REPO,
      status: 200,
    });
    expect(typeof line!.time).toBe('string');
    expect(typeof line!.keyId).toBe('string');
    expect(line!.sent).toBeGreaterThan(0);
    expect(typeof line!.ms).toBe('number');
    const api = accessLines(server).find((l) => l.route === '/api/v1/repos/:namespace/*name');
    expect(api).toMatchObject({ area: 'api', repository: REPO, user: TEST_ADMIN.username });
  });

  it('never logs a password, token, key or Authorization header', async () => {
    // Basic with the password, a bearer token from the token endpoint, a wrong password.
    const basic = basicHeader(TEST_ADMIN.username, TEST_ADMIN.password);
    expect(
      (await fetch(`${server.url}/api/v1/auth/me`, { headers: { authorization: basic } })).status,
    ).toBe(200);
    const tokenRes = await fetch(
      `${server.url}/auth/token?service=aerugo&scope=repository:${REPO}:pull`,
      { headers: { authorization: basic } },
    );
    const token = ((await tokenRes.json()) as { token: string }).token;
    expect(
      (
        await fetch(`${server.url}/v2/${REPO}/manifests/v1`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(200);
    const wrong = basicHeader(TEST_ADMIN.username, 'wrong-password-1234');
    expect((await fetch(`${server.url}/v2/`, { headers: { authorization: wrong } })).status).toBe(
      401,
    );
    await waitFor('the last request to be logged', () =>
      accessLines(server).some((l) => l.route === 'base' && l.status === 401),
    );
    const logs = server.logs();
    for (const secret of [
      TEST_ADMIN.password,
      'wrong-password-1234',
      apiKey,
      token,
      METRICS_TOKEN,
      basic.slice('Basic '.length),
      wrong.slice('Basic '.length),
    ])
      expect(logs).not.toContain(secret);
    expect(logs.toLowerCase()).not.toContain('authorization');
  });

  it('answers liveness and readiness', async () => {
    const live = await fetch(`${server.url}/api/v1/health/live`);
    expect([live.status, await live.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await fetch(`${server.url}/api/v1/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      database: 'ok',
      storage: 'ok',
      cache: 'ok',
    });
    expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
  });
});

describe('without METRICS_TOKEN', () => {
  let server: TestServer;
  let databaseUrl: string;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    // A long flush interval: the counts below reach PostgreSQL only through the flush at stop.
    server = await startServer({ databaseUrl, env: { PULL_STATS_FLUSH_SECONDS: '60' } });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('does not serve /metrics on the public port, and logs no access line at LOG_LEVEL=warn', async () => {
    const res = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('NOT_FOUND');
    expect(server.logs()).not.toContain('"msg":"request"');
  });

  it('writes the pulls counted in memory when the node stops', async () => {
    const c = new RegistryClient(server.url, { 'x-api-key': await adminApiKey(server.url) });
    await c.pushImage('flush/app', 'latest', ['x']);
    for (let i = 0; i < 5; i++)
      expect((await c.fetch('/v2/flush/app/manifests/latest')).status).toBe(200);
    await server.stop();
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ tag: string; pull_count: string }>(
        `SELECT s.tag, s.pull_count FROM pull_stats s JOIN repositories r ON r.id = s.repository_id
          WHERE r.name = 'flush/app' ORDER BY s.tag`,
      );
      expect(rows).toEqual([
        { tag: '', pull_count: '5' },
        { tag: 'latest', pull_count: '5' },
      ]);
    } finally {
      await db.end();
    }
  });
});
