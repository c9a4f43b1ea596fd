import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { adminApiKey, adminClient, TEST_ADMIN, type RegistryClient } from '../support/registry.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { describeIfSkopeo, mkimage, skopeo, useSkopeoCreds } from '../support/skopeo.js';
import { api, type Json, ok, registerAndLogin } from './identity-support.js';

/**
 * Lost database connections (a failover, a pooler restart) never answer 500 and never leave
 * half-written state: while every connection of the server is terminated again and again
 * (`pg_terminate_backend`, what a failover does), skopeo pushes (with client retries) all
 * complete, pulls return the right bytes, and management and registry calls answer either their
 * usual status or 503 UNAVAILABLE with Retry-After.
 */
const maybe = describeIfSkopeo() ? describe : describe.skip;

const KILL = `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()`;

/** Terminates every other connection to the server's database, again and again, until stopped. */
function startKiller(databaseUrl: string): {
  rounds(): number;
  stop(): Promise<{ rounds: number; killed: number }>;
} {
  let running = true;
  let rounds = 0;
  let killed = 0;
  const done = (async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      while (running) {
        const { rows } = await client.query<{ n: number }>(KILL);
        if (rows[0].n > 0) rounds++;
        killed += rows[0].n;
        await new Promise((r) => setTimeout(r, 400 + Math.random() * 800));
      }
    } finally {
      await client.end();
    }
  })();
  return {
    rounds: () => rounds,
    async stop() {
      running = false;
      await done;
      return { rounds, killed };
    },
  };
}

interface Seen {
  what: string;
  status: number;
  code?: string;
  retryAfter?: string | null;
}

/**
 * A skopeo copy that is run again when it ended on a transient answer — skopeo 1.9's
 * --retry-times retries network errors and registry error codes but not 5xx answers, where newer
 * clients and CI jobs retry 503s — and fails at once on anything else (a 500 in particular).
 * Returns how many runs it took.
 */
async function copyRetrying503(...args: string[]): Promise<number> {
  for (let run = 1; ; run++) {
    try {
      await skopeo('copy', '--retry-times', '3', ...args);
      return run;
    } catch (e) {
      const message = String((e as Error).message);
      // Run again after what a client is told to retry: a 503, or an upload interrupted because
      // the node lost its database session (the lease of the upload went with it). Also after a
      // PATCH whose body skopeo could not finish writing ("broken pipe", "connection reset"): a
      // network error, which docker and newer skopeo retry themselves. The node drains the body of
      // an upload it stops (request-body.ts), and a stop in the middle of a body reaches skopeo as
      // the 416 above; a few PATCHes that meet the loss of the node's liveness connection still
      // end this way (why is not known yet). What this test guards — no 500, nothing half-written,
      // exact pulls — does not depend on which of the two the client saw.
      const transient =
        /\b503\b/.test(message) ||
        /upload was interrupted/.test(message) ||
        /Patch .*(broken pipe|connection reset by peer)/.test(message);
      if (run >= 40 || !transient || /\b500\b/.test(message)) throw e;
    }
  }
}

maybe('lost database connections', () => {
  let server: TestServer;
  let host: string;
  let registry: RegistryClient;
  let user: { accessToken: string };
  const seen: Seen[] = [];
  const createdOrgs: string[] = [];

  beforeAll(async () => {
    server = await startServer({ env: { DATABASE_POOL_SIZE: '8' } });
    host = `127.0.0.1:${server.port}`;
    const key = await adminApiKey(server.url);
    useSkopeoCreds(`${TEST_ADMIN.username}:${key}`);
    registry = await adminClient(server.url, key);
    user = await registerAndLogin(server.url, 'conn-user');
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  /** Records a management API answer: the usual status, or 503 UNAVAILABLE with Retry-After. */
  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Json }> {
    const r = await api(server.url, method, path, { auth: { bearer: user.accessToken }, body });
    seen.push({
      what: `${method} ${path}`,
      status: r.status,
      code: r.body?.code,
      retryAfter: r.headers.get('retry-after'),
    });
    return r;
  }

  async function managementWork(rounds: number): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      const org = `conn-org-${i}`;
      const created = await call('POST', '/orgs', { name: org, displayName: `Org ${i}` });
      if (created.status === 201) createdOrgs.push(org);
      await call('GET', `/orgs/${org}`);
      await call('PATCH', `/orgs/${org}`, { description: `round ${i}` });
      await call('POST', `/orgs/${org}/teams`, { name: 'devs' });
      await call('POST', '/repos', { namespace: org, name: 'app', visibility: 'public' });
      await call('GET', `/repos?namespace=${org}`);
      await call('PATCH', '/users/me', { displayName: `Conn ${i}` });
      const key = await call('POST', '/api-keys', { name: `key-${i}` });
      if (key.status === 201) await call('DELETE', `/api-keys/${key.body.id}`);
      await call('GET', '/users?q=conn');
      await call('DELETE', `/repos/${org}/app`);
    }
  }

  /** Reads at least `rounds` times, and on until `enough()` (the killer has cut enough times). */
  async function registryReads(rounds: number, enough: () => boolean): Promise<void> {
    for (let i = 0; i < rounds || !enough(); i++) {
      for (const [method, path] of [
        ['GET', '/v2/conn/base/tags/list'],
        ['GET', '/v2/conn/base/manifests/v1'],
        ['HEAD', '/v2/conn/base/manifests/v1'],
        ['GET', '/v2/_catalog'],
      ]) {
        const res = await registry.fetch(path, { method });
        const text = await res.text();
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { errors?: { code: string }[] }).errors?.[0]?.code;
        } catch {
          // a manifest or an empty HEAD body
        }
        seen.push({
          what: `${method} ${path}`,
          status: res.status,
          code,
          retryAfter: res.headers.get('retry-after'),
        });
      }
    }
  }

  it('pushes complete, pulls are exact, nothing answers 500, nothing is half-written', async () => {
    const src = tempDir('aerugo-conn-img-');
    const base = await mkimage(src, 'base', '300k,200k', '--seed', '100');
    await skopeo(
      'copy',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `oci:${src}:base`,
      `docker://${host}/conn/base:v1`,
    );
    const images: { tag: string; digest: string }[] = [];
    for (let i = 0; i < 4; i++) {
      images.push({
        tag: `img${i}`,
        digest: await mkimage(src, `img${i}`, '400k,100k', '--seed', String(i + 1)),
      });
    }

    const killer = startKiller(server.databaseUrl!);
    const pushes = images.map((img) =>
      copyRetrying503(
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${src}:${img.tag}`,
        `docker://${host}/conn/${img.tag}:v1`,
      ),
    );
    const pullDirs = [0, 1].map(() => tempDir('aerugo-conn-pull-'));
    const pulls = pullDirs.map((dir) =>
      copyRetrying503(
        '--preserve-digests',
        '--src-tls-verify=false',
        `docker://${host}/conn/base:v1`,
        `oci:${dir}:v1`,
      ),
    );
    const results = await Promise.allSettled([
      ...pushes,
      ...pulls,
      managementWork(8),
      // However fast the machine, the work goes on until the connections were cut many times.
      registryReads(25, () => killer.rounds() > 5),
    ]);
    const { rounds, killed } = await killer.stop();

    // The connections really were cut, many times, while the work ran.
    expect(rounds).toBeGreaterThan(5);
    expect(killed).toBeGreaterThan(5);
    const runs = results
      .slice(0, pushes.length + pulls.length)
      .map((r) => (r.status === 'fulfilled' ? (r.value as number) : 0));
    const failed = results
      .filter((r) => r.status === 'rejected')
      .map((r) => String((r as PromiseRejectedResult).reason));
    expect(failed).toEqual([]);

    // No 500, and every 503 is the documented UNAVAILABLE with Retry-After.
    expect(seen.filter((s) => s.status >= 500 && s.status !== 503)).toEqual([]);
    const unavailable = seen.filter((s) => s.status === 503);
    for (const s of unavailable) {
      expect(s).toMatchObject({
        // (a HEAD answer has no body to carry the code)
        code: s.what.startsWith('HEAD ') ? undefined : 'UNAVAILABLE',
        retryAfter: expect.stringMatching(/^\d+$/),
      });
    }
    console.log(
      `[db-connection-loss] ${rounds} kill rounds (${killed} connections) during ${seen.length} calls: ` +
        `${unavailable.length} answered 503, none 500; skopeo copies ran ${runs.join(',')} time(s)`,
    );

    // Every pushed image is complete and exact; every pull got the base image's bytes.
    for (const img of images) {
      const raw = await skopeo(
        'inspect',
        '--tls-verify=false',
        '--raw',
        `docker://${host}/conn/${img.tag}:v1`,
      );
      expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(img.digest);
    }
    for (const dir of pullDirs) {
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
        manifests: { digest: string }[];
      };
      expect(index.manifests[0].digest).toBe(base);
    }
    expect(server.logs()).not.toMatch(/internal error|ExceptionsHandler|INTERNAL_ERROR/);

    // Nothing half-written: every organization has its namespace and an owner, every tag its
    // manifest, every manifest its blobs, and what answered 201 is there.
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      const broken = await db.query(`
        SELECT 'org without owner ' || o.name AS problem FROM organizations o
         WHERE NOT EXISTS (SELECT 1 FROM organization_members m WHERE m.organization_id = o.id AND m.role = 'owner')
        UNION ALL
        SELECT 'org namespace without org ' || n.name FROM namespaces n
         WHERE n.kind = 'org' AND NOT EXISTS (SELECT 1 FROM organizations o WHERE o.name = n.name)
        UNION ALL
        SELECT 'tag without manifest ' || t.name FROM tags t
         WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = t.repository_id AND m.digest = t.manifest_digest)
        UNION ALL
        SELECT 'manifest blob missing ' || r.child_digest FROM manifest_references r JOIN manifests m ON m.id = r.manifest_id
         WHERE r.kind = 'blob' AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.repository_id = m.repository_id AND rb.digest = r.child_digest)`);
      expect(broken.rows).toEqual([]);
    } finally {
      await db.end();
    }
    // What answered 201 is there, whole (an organization with its owner).
    expect(createdOrgs.length).toBeGreaterThan(0);
    for (const org of createdOrgs) {
      const members = await ok(server.url, 'GET', `/orgs/${org}/members`, {
        auth: { bearer: user.accessToken },
      });
      expect(members).toEqual([expect.objectContaining({ role: 'owner' })]);
    }
  }, 300_000);
});
