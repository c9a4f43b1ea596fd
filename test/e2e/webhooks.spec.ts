// Webhooks end to end: two nodes on one PostgreSQL deliver to a receiver in the test that fails
// the first attempts, is down while a node is restarted, then accepts. Every event arrives,
// signed; a rolled-back write delivers nothing; only namespace administrators manage webhooks;
// a node without WEBHOOK_ALLOW_PRIVATE_TARGETS refuses internal targets, at creation and at send
// time.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import pg from 'pg';
import { RegistryClient, waitFor } from '../support/registry.js';
import { freePort, startServer, tempDir, type TestServer } from '../support/server.js';
import { createTestDatabase } from '../support/server.js';
import { ADMIN, api, basicHeader, type Json, ok, registerAndLogin } from './identity-support.js';

const SECRET = 'hook-secret-0123456789';
const METRICS_TOKEN = 'webhook-metrics-token-0123456789';

interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Json;
  answered: number;
}

/** The test's receiver: answers `failNext` requests with 500, then 204; can be taken down. */
class Receiver {
  received: Received[] = [];
  failNext = 0;
  /** Milliseconds to hold the next answer. */
  holdNext = 0;
  /** Requests being answered now, by delivery id, and the most there ever were for one. */
  private inFlight = new Map<string, number>();
  maxInFlight = 0;
  private server?: Server;
  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async up(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw);
        const answered = this.failNext > 0 ? 500 : 204;
        if (answered === 500) this.failNext--;
        const hold = this.holdNext;
        this.holdNext = 0;
        const n = (this.inFlight.get(body.deliveryId) ?? 0) + 1;
        this.inFlight.set(body.deliveryId, n);
        this.maxInFlight = Math.max(this.maxInFlight, n);
        setTimeout(() => {
          this.inFlight.set(body.deliveryId, this.inFlight.get(body.deliveryId)! - 1);
          this.received.push({ headers: req.headers, raw, body, answered });
          res.writeHead(answered).end();
        }, hold);
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', r));
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }

  /** Accepted requests (2xx answers). */
  accepted(): Received[] {
    return this.received.filter((r) => r.answered < 300);
  }
}

let a: TestServer;
let b: TestServer;
let db: pg.Client;
let receiver: Receiver;
let databaseUrl: string;
let dataDir: string;
const env = {
  ADMIN_USERNAME: ADMIN.username,
  ADMIN_PASSWORD: ADMIN.password,
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_BASE_SECONDS: '1',
  WEBHOOK_MAX_ATTEMPTS: '12',
  WEBHOOK_TIMEOUT_SECONDS: '5',
  METRICS_TOKEN,
};
const olga = { bearer: '' };
const mia = { bearer: '' };
const admin = { basic: [ADMIN.username, ADMIN.password] as [string, string] };
let hookId: string;

function verify(r: Received): boolean {
  const sent = String(r.headers['x-aerugo-signature'] ?? '');
  const want = `sha256=${createHmac('sha256', SECRET).update(r.raw).digest('hex')}`;
  return sent.length === want.length && timingSafeEqual(Buffer.from(sent), Buffer.from(want));
}

async function pendingDeliveries(): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM webhook_deliveries WHERE state = 'pending'`,
  );
  return Number(rows[0].n);
}

beforeAll(async () => {
  receiver = new Receiver(await freePort());
  await receiver.up();
  databaseUrl = await createTestDatabase();
  dataDir = tempDir();
  [a, b] = await Promise.all([
    startServer({ databaseUrl, dataDir, env }),
    startServer({ databaseUrl, dataDir, env }),
  ]);
  db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  olga.bearer = (await registerAndLogin(a.url, 'olga')).accessToken;
  mia.bearer = (await registerAndLogin(a.url, 'mia')).accessToken;
  await ok(a.url, 'POST', '/orgs', { auth: olga, body: { name: 'acme' } });
  await ok(a.url, 'POST', '/orgs/acme/members', { auth: olga, body: { username: 'mia' } });
}, 120_000);

afterAll(async () => {
  await db?.end();
  await Promise.all([a?.stop(), b?.stop()]);
  await receiver?.down();
});

describe('managing webhooks', () => {
  it('only the namespace administrators manage its webhooks', async () => {
    const body = { url: receiver.url, events: ['push'] };
    // A plain member of the organization, another user's namespace, nobody signed in.
    expect(
      (await api(a.url, 'POST', '/namespaces/acme/webhooks', { auth: mia, body })).status,
    ).toBe(403);
    expect((await api(a.url, 'GET', '/namespaces/acme/webhooks', { auth: mia })).status).toBe(403);
    expect(
      (await api(a.url, 'POST', '/namespaces/mia/webhooks', { auth: olga, body })).status,
    ).toBe(403);
    expect((await api(a.url, 'GET', '/namespaces/acme/webhooks', {})).status).toBe(401);
    expect((await api(a.url, 'GET', '/namespaces/nobody/webhooks', { auth: olga })).status).toBe(
      404,
    );
    // The user themself and the system administrator may.
    const own = await ok(a.url, 'POST', '/namespaces/mia/webhooks', { auth: mia, body });
    expect(
      (await api(a.url, 'GET', `/namespaces/mia/webhooks/${own.id}`, { auth: admin })).status,
    ).toBe(200);
    // A webhook is only found under its own namespace.
    expect(
      (await api(a.url, 'GET', `/namespaces/acme/webhooks/${own.id}`, { auth: olga })).status,
    ).toBe(404);
    await ok(a.url, 'DELETE', `/namespaces/mia/webhooks/${own.id}`, { auth: mia });
  });

  it('validates its input and never returns the secret', async () => {
    const post = (body: Json) =>
      api(a.url, 'POST', '/namespaces/acme/webhooks', { auth: olga, body });
    expect((await post({ url: 'ftp://127.0.0.1/x', events: ['push'] })).status).toBe(400);
    expect((await post({ url: receiver.url, events: ['pull'] })).status).toBe(400);
    expect((await post({ url: receiver.url, events: [] })).status).toBe(400);
    expect(
      (await post({ url: receiver.url, events: ['push'], repositories: ['Web//x'] })).status,
    ).toBe(400);
    const created = await ok(a.url, 'POST', '/namespaces/acme/webhooks', {
      auth: olga,
      body: {
        url: receiver.url,
        secret: SECRET,
        events: ['push', 'delete', 'tag'],
        repositories: ['web/*'],
      },
    });
    hookId = created.id;
    expect(created).toMatchObject({
      namespace: 'acme',
      hasSecret: true,
      enabled: true,
      repositories: ['web/*'],
    });
    const listed = await ok(a.url, 'GET', '/namespaces/acme/webhooks', { auth: olga });
    expect(listed).toHaveLength(1);
    expect(JSON.stringify([created, listed])).not.toContain(SECRET);
    const { rows } = await db.query(
      `SELECT event, payload FROM outbox WHERE event LIKE 'webhook.%'`,
    );
    expect(JSON.stringify(rows)).not.toContain(SECRET);
  });
});

describe('delivery', () => {
  let pusherA: RegistryClient;
  let pusherB: RegistryClient;
  const expected = new Set<string>();

  beforeAll(() => {
    const auth = { authorization: basicHeader('olga', 'olga-password-1') };
    pusherA = new RegistryClient(a.url, auth);
    pusherB = new RegistryClient(b.url, auth);
  });

  it('retries a failing target with backoff until it accepts, signing every body', async () => {
    receiver.failNext = 2;
    const { digest } = await pusherA.pushImage('acme/web/app', 'v1', ['layer-one']);
    // Not under web/*: no delivery.
    await pusherA.pushImage('acme/other', 'v1', ['layer-other']);
    await waitFor('the push to be delivered', () => receiver.accepted().length === 1, 20_000);
    const got = receiver.received.filter((r) => r.body.digest === digest);
    expect(got.map((r) => r.answered)).toEqual([500, 500, 204]);
    expect(new Set(got.map((r) => r.body.eventId)).size).toBe(1);
    expect(new Set(got.map((r) => r.body.deliveryId)).size).toBe(1);
    expect(got.every(verify)).toBe(true);
    const [first] = got;
    expect(first.headers).toMatchObject({
      'x-aerugo-event': 'push',
      'x-aerugo-delivery': first.body.deliveryId,
      'content-type': 'application/json',
      'user-agent': expect.stringContaining('Aerugo'),
    });
    expect(first.body).toMatchObject({
      type: 'push',
      action: 'manifest.pushed',
      namespace: 'acme',
      repository: 'acme/web/app',
      tags: ['v1'],
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: expect.any(Number),
      actor: { kind: 'user', name: 'olga' },
    });
    expect(Date.parse(first.body.occurredAt)).not.toBeNaN();
    expect(receiver.received.some((r) => r.body.repository === 'acme/other')).toBe(false);
    expected.add(first.body.eventId);
  });

  it('a slow target: no delivery is ever being sent by two nodes at once', async () => {
    // Longer than the polling interval of both nodes: without the lease, the other node would
    // claim the delivery again while the first is still waiting for the answer.
    receiver.holdNext = 3_000;
    const before = receiver.accepted().length;
    const { digest } = await pusherB.pushImage('acme/web/slow', 'v1', ['layer-slow']);
    await waitFor('the slow delivery', () => receiver.accepted().length > before, 20_000);
    expect(receiver.received.filter((r) => r.body.digest === digest)).toHaveLength(1);
    expect(receiver.maxInFlight).toBe(1);
    expected.add(receiver.accepted()[before].body.eventId);
  });

  it('keeps every event while the target is down and a node restarts, then delivers each', async () => {
    await receiver.down();
    const v2 = await pusherB.pushImage('acme/web/app', 'v2', ['layer-two']);
    // Moves v1 onto another manifest: a push and a tag delivery.
    const moved = await pusherB.pushImage('acme/web/app', 'v1', ['layer-three']);
    const del = await pusherB.fetch('/v2/acme/web/app/manifests/v2', { method: 'DELETE' });
    expect(del.status).toBe(202);
    await waitFor('attempts to fail', async () => {
      const { rows } = await db.query(`SELECT 1 FROM webhook_attempts WHERE error IS NOT NULL`);
      return rows.length > 0;
    });
    await a.kill();
    a = await startServer({ databaseUrl, dataDir, env, port: a.port });
    await receiver.up();
    await waitFor(
      'every delivery to finish',
      async () => (await pendingDeliveries()) === 0,
      25_000,
    );

    const accepted = receiver.accepted();
    expect(accepted.every(verify)).toBe(true);
    const byType = (type: string, match: (b: Json) => boolean) =>
      accepted.filter((r) => r.body.type === type && match(r.body));
    expect(byType('push', (x) => x.digest === v2.digest && x.tags[0] === 'v2')).toHaveLength(1);
    expect(byType('push', (x) => x.digest === moved.digest)).toHaveLength(1);
    expect(byType('tag', (x) => x.action === 'tag.moved' && x.tags[0] === 'v1')).toHaveLength(1);
    expect(byType('tag', (x) => x.action === 'tag.deleted' && x.tag === 'v2')).toHaveLength(1);
    void v2;
    for (const r of accepted) expected.add(r.body.eventId);
    expect(expected.size).toBe(6);
    // At least once: a body received twice is the same event (same event id and content).
    const seen = new Map<string, string>();
    for (const r of accepted) {
      const { deliveryId: _, ...rest } = r.body;
      const prev = seen.get(r.body.eventId);
      if (prev) expect(JSON.stringify(rest)).toBe(prev);
      seen.set(r.body.eventId, JSON.stringify(rest));
    }
    const { rows } = await db.query(
      `SELECT state, count(*)::int AS n FROM webhook_deliveries GROUP BY state`,
    );
    expect(rows).toEqual([{ state: 'delivered', n: 6 }]);
  }, 60_000);

  it('a write that rolls back delivers nothing', async () => {
    // Fails the commit of one manifest push after everything in its transaction has run (the
    // outbox row and the deliveries inserted with it).
    await db.query(`
      CREATE FUNCTION refuse_doomed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.event = 'manifest.pushed' AND NEW.payload->>'repository' = 'acme/web/doomed' THEN
          RAISE EXCEPTION 'refused by the test';
        END IF;
        RETURN NEW;
      END $$`);
    await db.query(`
      CREATE CONSTRAINT TRIGGER refuse_doomed AFTER INSERT ON outbox
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_doomed()`);
    try {
      await expect(pusherA.pushImage('acme/web/doomed', 'v1', ['layer-doomed'])).rejects.toThrow(
        /putManifest/,
      );
    } finally {
      await db.query(`DROP TRIGGER refuse_doomed ON outbox`);
      await db.query(`DROP FUNCTION refuse_doomed()`);
    }
    // A later push is delivered, and nothing of the rolled back one ever was.
    const before = receiver.received.length;
    await pusherA.pushImage('acme/web/after', 'v1', ['layer-after']);
    await waitFor('the next push', () => receiver.received.length > before);
    await waitFor('every delivery to finish', async () => (await pendingDeliveries()) === 0);
    expect(receiver.received.some((r) => r.body.repository === 'acme/web/doomed')).toBe(false);
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE body->>'repository' = 'acme/web/doomed'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('lists deliveries newest first with their attempts, and redelivers one', async () => {
    const page = await ok(
      a.url,
      'GET',
      `/namespaces/acme/webhooks/${hookId}/deliveries?perPage=100`,
      {
        auth: olga,
      },
    );
    expect(page.total).toBe(7);
    const times = page.items.map((d: Json) => Date.parse(d.createdAt));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    const first = page.items[page.items.length - 1];
    expect(first).toMatchObject({ eventType: 'push', state: 'delivered', nextAttemptAt: null });
    expect(first.attempts.map((t: Json) => t.statusCode)).toEqual([500, 500, 204]);
    expect(first.attempts[0]).toMatchObject({ attempt: 1, error: expect.stringContaining('500') });
    expect(first.attempts[2]).toMatchObject({
      attempt: 3,
      error: null,
      durationMs: expect.any(Number),
    });
    // Others may not read them.
    expect(
      (await api(a.url, 'GET', `/namespaces/acme/webhooks/${hookId}/deliveries`, { auth: mia }))
        .status,
    ).toBe(403);

    const before = receiver.received.length;
    const again = await ok(
      b.url,
      'POST',
      `/namespaces/acme/webhooks/${hookId}/deliveries/${first.id}/redeliver`,
      { auth: olga },
    );
    expect(again).toMatchObject({ eventId: first.eventId, redeliveryOf: first.id });
    expect(again.id).not.toBe(first.id);
    await waitFor('the redelivery', () => receiver.received.length > before);
    const r = receiver.received[receiver.received.length - 1];
    expect(r.body).toMatchObject({ eventId: first.eventId, deliveryId: again.id });
    expect(r.headers['x-aerugo-delivery']).toBe(again.id);
    expect(verify(r)).toBe(true);
    expect(
      (
        await api(
          a.url,
          'POST',
          `/namespaces/acme/webhooks/${hookId}/deliveries/${hookId}/redeliver`,
          { auth: olga },
        )
      ).status,
    ).toBe(404);
  });

  it('counts deliveries by outcome in /metrics', async () => {
    let delivered = 0;
    let retried = 0;
    for (const node of [a, b]) {
      const text = await (
        await fetch(`${node.url}/metrics`, {
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        })
      ).text();
      expect(text).toContain('# TYPE aerugo_webhook_deliveries_total counter');
      for (const m of text.matchAll(
        /^aerugo_webhook_deliveries_total\{outcome="(\w+)"\} (\d+)/gm,
      )) {
        if (m[1] === 'delivered') delivered += Number(m[2]);
        if (m[1] === 'retry') retried += Number(m[2]);
      }
    }
    // Node a restarted before the target came back: everything after that is counted.
    expect(delivered).toBeGreaterThanOrEqual(5);
    expect(retried).toBeGreaterThanOrEqual(1);
  });
});

describe('without WEBHOOK_ALLOW_PRIVATE_TARGETS', () => {
  let c: TestServer;

  beforeAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
    c = await startServer({
      databaseUrl,
      dataDir,
      // One attempt only: a refused one marks the delivery failed.
      env: { ...env, WEBHOOK_ALLOW_PRIVATE_TARGETS: undefined, WEBHOOK_MAX_ATTEMPTS: '1' },
    });
  }, 60_000);

  afterAll(async () => {
    await c?.stop();
  });

  it.each([
    'http://127.0.0.1:9/hook',
    'http://localhost/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://10.0.0.1/',
    'http://2130706433/',
  ])('refuses %s', async (url) => {
    const r = await api(c.url, 'POST', '/namespaces/acme/webhooks', {
      auth: olga,
      body: { url, events: ['push'] },
    });
    expect(r.status).toBe(400);
    const patched = await api(c.url, 'PATCH', `/namespaces/acme/webhooks/${hookId}`, {
      auth: olga,
      body: { url },
    });
    expect(patched.status).toBe(400);
  });

  it('refuses an internal target again at send time; the last failed attempt fails the delivery', async () => {
    const before = receiver.received.length;
    await new RegistryClient(c.url, {
      authorization: basicHeader('olga', 'olga-password-1'),
    }).pushImage('acme/web/late', 'v1', ['layer-late']);
    const late = async () =>
      (
        await db.query(
          `SELECT id, state FROM webhook_deliveries WHERE body->>'repository' = 'acme/web/late'`,
        )
      ).rows;
    await waitFor('the delivery to fail', async () => (await late())[0]?.state === 'failed');
    const page = await ok(c.url, 'GET', `/namespaces/acme/webhooks/${hookId}/deliveries`, {
      auth: olga,
    });
    const failed = page.items.find((d: Json) => d.payload.repository === 'acme/web/late');
    expect(failed).toMatchObject({ state: 'failed', nextAttemptAt: null });
    expect(failed.attempts).toHaveLength(1);
    expect(failed.attempts[0]).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/^refused: 127\.0\.0\.1 is a loopback address/),
    });
    expect(receiver.received.length).toBe(before);
    const text = await (
      await fetch(`${c.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    expect(text).toMatch(/^aerugo_webhook_deliveries_total\{outcome="failed"\} 1$/m);
  });
});
