import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import {
  adminClient,
  basicHeader,
  TEST_ADMIN,
  waitFor,
  type RegistryClient,
} from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';

/**
 * One node with two worker processes (WORKERS=2) and no Redis: the in-memory caches of the
 * workers, the sign-in limits and the metrics must behave as one node's.
 */

const METRICS_TOKEN = 'workers-metrics-token';

/** One request on a connection of its own, so that successive requests reach both workers. */
function fresh(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

function workerPids(server: TestServer): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(server.process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const listening = (server: TestServer) => server.logs().split('Aerugo listening on').length - 1;

describe('a node with two worker processes', () => {
  let server: TestServer;
  let admin: RegistryClient;

  beforeAll(async () => {
    server = await startServer({
      env: {
        WORKERS: '2',
        REDIS_URL: undefined,
        METRICS_TOKEN,
        AUTH_RATE_LIMIT_PER_ACCOUNT: '4',
        // The plain limit, without the growing delays before it.
        AUTH_FAILURE_DELAY_SECONDS: '0',
        LOG_LEVEL: 'info',
      },
    });
    await waitFor('both workers to listen', () => listening(server) >= 2, 60_000);
    admin = await adminClient(server.url);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('runs two workers under one primary process', () => {
    expect(workerPids(server)).toHaveLength(2);
  });

  it('a repository made private is refused at once by every worker (invalidation reaches both caches)', async () => {
    const repo = `${TEST_ADMIN.username}/shared-cache`;
    await admin.pushImage(repo, 'v1', ['layer']);
    const patch = (visibility: string) =>
      admin.fetch(`/api/v1/repos/${repo}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ visibility }),
      });
    expect((await patch('public')).status).toBe(200);
    // Twenty connections of their own: both workers load and cache "public".
    const before = await Promise.all(
      Array.from({ length: 20 }, () => fresh(`${server.url}/v2/${repo}/tags/list`)),
    );
    expect(before.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await patch('private')).status).toBe(200);
    const after = await Promise.all(
      Array.from({ length: 20 }, () => fresh(`${server.url}/v2/${repo}/tags/list`)),
    );
    expect(after.map((r) => r.status)).toEqual(Array(20).fill(401));
  });

  it('counts sign-in failures for the whole node, not per worker', async () => {
    const created = await admin.fetch('/api/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'worker-victim', password: 'victim-password-1' }),
    });
    expect(created.status).toBe(201);
    const login = (password: string) =>
      fresh(`${server.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'worker-victim', password }),
      });
    // AUTH_RATE_LIMIT_PER_ACCOUNT=4: four failures spread over both workers reach the limit.
    for (let i = 0; i < 4; i++) expect((await login('wrong-password')).status).toBe(401);
    const limited = await Promise.all(Array.from({ length: 4 }, () => login('wrong-password')));
    expect(limited.map((r) => r.status)).toEqual(Array(4).fill(429));
  });

  it('one scrape returns the figures of both workers', async () => {
    // The count of the health-check series, summed over its lines.
    const scrape = async () => {
      const res = await fresh(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      expect(res.status).toBe(200);
      expect(parsePrometheusTextFormat(res.body).length).toBeGreaterThan(10);
      let n = 0;
      for (const line of res.body.split('\n'))
        if (
          line.startsWith('aerugo_http_request_duration_seconds_count{') &&
          line.includes('route="/api/v1/health/live"')
        )
          n += Number(line.slice(line.lastIndexOf(' ') + 1));
      return n;
    };
    const before = await scrape();
    await Promise.all(Array.from({ length: 30 }, () => fresh(`${server.url}/api/v1/health/live`)));
    // Every one of the 30, whichever worker answered it, is in the node's figures.
    expect((await scrape()) - before).toBe(30);
  });

  it('replaces a worker that dies; the node keeps serving', async () => {
    const [victim] = workerPids(server);
    process.kill(victim, 'SIGKILL');
    await waitFor(
      'a new worker',
      () => {
        const pids = workerPids(server);
        return pids.length === 2 && !pids.includes(victim);
      },
      60_000,
    );
    await waitFor('the new worker to listen', () => listening(server) >= 3, 60_000);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () =>
        fresh(`${server.url}/v2/`, {
          headers: { authorization: basicHeader(TEST_ADMIN.username, TEST_ADMIN.password) },
        }),
      ),
    );
    expect(statuses.map((r) => r.status)).toEqual(Array(10).fill(200));
  });

  it('stops every worker on SIGTERM and exits cleanly', async () => {
    const pids = workerPids(server);
    const exit = new Promise<number | null>((resolve) =>
      server.process.once('exit', (code) => resolve(code)),
    );
    server.process.kill('SIGTERM');
    expect(await exit).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
