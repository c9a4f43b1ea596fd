// Every write records exactly one event in the outbox, in its own transaction: each write route
// of the management API (every non-GET operation of api/openapi.json, so a new route without a
// case here fails) and every write of the registry API is called once through HTTP, and the
// outbox rows it added are compared with the event it must record.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { RegistryClient, sha256 } from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import { PROJECT_ROOT } from '../support/test-env.js';
import {
  ADMIN,
  api,
  type ApiResult,
  type Auth,
  basicHeader,
  ok,
  registerAndLogin,
  type TestUser,
} from './identity-support.js';

let server: TestServer;
let base: string;
let db: pg.Client;
const u: Record<string, TestUser> = {};
const as = (name: string): Auth => ({ bearer: u[name].accessToken });
const admin = (): Auth => ({ basic: [ADMIN.username, ADMIN.password] });

/**
 * Routes left out here: signing in and out, whose events (`auth.signed-in`, `session.revoked`,
 * `token.issued`, `auth.sign-in.failed`) depend on the credentials used; audit.spec.ts checks them.
 * The retention preview is a POST that changes nothing (retention.spec.ts checks it deletes
 * nothing).
 */
const NO_EVENT_ROUTES = new Set([
  'POST /api/v1/repos/{namespace}/{name}/retention/preview',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/logout',
  'POST /api/v1/auth/refresh',
  'POST /api/v1/auth/token',
  'DELETE /api/v1/auth/sessions/{id}',
]);

interface OutboxRow {
  id: string;
  event: string;
  actor: { principal: { kind: string; username?: string }; credential: string; address?: string };
  request_id: string;
  payload: Record<string, unknown>;
}

let lastId = '0';
/** The outbox rows added since the last call. */
async function added(): Promise<OutboxRow[]> {
  const { rows } = await db.query<OutboxRow>(
    `SELECT id::text, event, actor, request_id, payload FROM outbox WHERE id > $1 ORDER BY id`,
    [lastId],
  );
  if (rows.length) lastId = rows[rows.length - 1].id;
  return rows;
}

/** Runs `call`, expects it to succeed, and returns the events it recorded. */
async function eventsOf(call: () => Promise<ApiResult | Response>): Promise<OutboxRow[]> {
  await added();
  const r = await call();
  const status = r.status;
  if (status >= 300) {
    const body = r instanceof Response ? await r.text() : JSON.stringify(r.body);
    throw new Error(`write failed: ${status} ${body}`);
  }
  return added();
}

beforeAll(async () => {
  server = await startServer({
    env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
  });
  base = server.url;
  db = new pg.Client({ connectionString: server.databaseUrl });
  await db.connect();
  for (const name of ['olga', 'adam']) u[name] = await registerAndLogin(base, name);
}, 120_000);

afterAll(async () => {
  await db?.end();
  await server?.stop();
});

/** The id of acme's webhook. */
async function hookId(): Promise<string> {
  const hooks = await ok(base, 'GET', '/namespaces/acme/webhooks', { auth: as('olga') });
  return hooks[0].id;
}

/** Each management write route, as "METHOD /api/v1/path" → the call and the event it records. */
const covered = new Set<string>();

describe('management API writes', () => {
  const cases: [route: string, event: string, call: () => Promise<ApiResult>][] = [
    [
      'POST /api/v1/auth/register',
      'user.created',
      () =>
        api(base, 'POST', '/auth/register', {
          body: { username: 'rita', password: 'rita-password-1' },
        }),
    ],
    [
      'POST /api/v1/users',
      'user.created',
      () =>
        api(base, 'POST', '/users', {
          auth: admin(),
          body: { username: 'sam', password: 'sam-password-1' },
        }),
    ],
    [
      'PATCH /api/v1/users/me',
      'user.updated',
      () => api(base, 'PATCH', '/users/me', { auth: as('olga'), body: { displayName: 'Olga' } }),
    ],
    [
      'PUT /api/v1/users/me/password',
      'user.password.changed',
      () =>
        api(base, 'PUT', '/users/me/password', {
          auth: as('adam'),
          body: { currentPassword: 'adam-password-1', newPassword: 'adam-password-2' },
        }),
    ],
    [
      'PATCH /api/v1/users/{username}',
      'user.updated',
      () => api(base, 'PATCH', '/users/sam', { auth: admin(), body: { active: false } }),
    ],
    [
      'DELETE /api/v1/users/{username}',
      'user.deleted',
      () => api(base, 'DELETE', '/users/sam', { auth: admin() }),
    ],
    [
      'POST /api/v1/api-keys',
      'apikey.created',
      () => api(base, 'POST', '/api-keys', { auth: as('olga'), body: { name: 'ci' } }),
    ],
    [
      'DELETE /api/v1/api-keys/{id}',
      'apikey.revoked',
      async () => {
        const keys = await ok(base, 'GET', '/api-keys', { auth: as('olga') });
        return api(base, 'DELETE', `/api-keys/${keys[0].id}`, { auth: as('olga') });
      },
    ],
    [
      'POST /api/v1/orgs',
      'org.created',
      () => api(base, 'POST', '/orgs', { auth: as('olga'), body: { name: 'acme' } }),
    ],
    [
      'PATCH /api/v1/orgs/{org}',
      'org.updated',
      () => api(base, 'PATCH', '/orgs/acme', { auth: as('olga'), body: { description: 'x' } }),
    ],
    [
      'POST /api/v1/namespaces/{namespace}/webhooks',
      'webhook.created',
      () =>
        api(base, 'POST', '/namespaces/acme/webhooks', {
          auth: as('olga'),
          // Disabled: nothing is ever sent to it.
          body: { url: 'https://93.184.215.14/hook', events: ['push'], enabled: false },
        }),
    ],
    [
      'PATCH /api/v1/namespaces/{namespace}/webhooks/{id}',
      'webhook.updated',
      async () =>
        api(base, 'PATCH', `/namespaces/acme/webhooks/${await hookId()}`, {
          auth: as('olga'),
          body: { events: ['push', 'tag'] },
        }),
    ],
    [
      'POST /api/v1/namespaces/{namespace}/webhooks/{id}/deliveries/{deliveryId}/redeliver',
      'webhook.redelivered',
      async () => {
        const id = await hookId();
        const { rows } = await db.query<{ id: string }>(
          `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body, state)
           VALUES ($1, '1-push', 'push', '{}', 'failed') RETURNING id`,
          [id],
        );
        return api(
          base,
          'POST',
          `/namespaces/acme/webhooks/${id}/deliveries/${rows[0].id}/redeliver`,
          { auth: as('olga') },
        );
      },
    ],
    [
      'DELETE /api/v1/namespaces/{namespace}/webhooks/{id}',
      'webhook.deleted',
      async () =>
        api(base, 'DELETE', `/namespaces/acme/webhooks/${await hookId()}`, { auth: as('olga') }),
    ],
    [
      'POST /api/v1/namespaces/{namespace}/robots',
      'robot.created',
      () =>
        api(base, 'POST', '/namespaces/acme/robots', {
          auth: as('olga'),
          body: { name: 'ci', grants: [{ repository: 'acme/*', level: 'read' }] },
        }),
    ],
    [
      'PATCH /api/v1/namespaces/{namespace}/robots/{name}',
      'robot.updated',
      () =>
        api(base, 'PATCH', '/namespaces/acme/robots/ci', {
          auth: as('olga'),
          body: { disabled: true },
        }),
    ],
    [
      'DELETE /api/v1/namespaces/{namespace}/robots/{name}',
      'robot.deleted',
      () => api(base, 'DELETE', '/namespaces/acme/robots/ci', { auth: as('olga') }),
    ],
    [
      'PUT /api/v1/namespaces/{namespace}/quota',
      'namespace.quota.changed',
      () => api(base, 'PUT', '/namespaces/acme/quota', { auth: admin(), body: { bytes: 1000000 } }),
    ],
    [
      'POST /api/v1/admin/gc',
      'gc.completed',
      () => api(base, 'POST', '/admin/gc', { auth: admin(), body: { dryRun: true } }),
    ],
    [
      'POST /api/v1/orgs/{org}/members',
      'org.member.added',
      () =>
        api(base, 'POST', '/orgs/acme/members', { auth: as('olga'), body: { username: 'rita' } }),
    ],
    [
      'PATCH /api/v1/orgs/{org}/members/{username}',
      'org.member.updated',
      () =>
        api(base, 'PATCH', '/orgs/acme/members/rita', {
          auth: as('olga'),
          body: { role: 'admin' },
        }),
    ],
    [
      'POST /api/v1/orgs/{org}/teams',
      'team.created',
      () => api(base, 'POST', '/orgs/acme/teams', { auth: as('olga'), body: { name: 'devs' } }),
    ],
    [
      'PATCH /api/v1/orgs/{org}/teams/{team}',
      'team.updated',
      () =>
        api(base, 'PATCH', '/orgs/acme/teams/devs', {
          auth: as('olga'),
          body: { description: 'developers' },
        }),
    ],
    [
      'PUT /api/v1/orgs/{org}/teams/{team}/members/{username}',
      'team.member.added',
      () => api(base, 'PUT', '/orgs/acme/teams/devs/members/rita', { auth: as('olga') }),
    ],
    [
      'POST /api/v1/repos',
      'repository.created',
      () =>
        api(base, 'POST', '/repos', { auth: as('olga'), body: { namespace: 'acme', name: 'app' } }),
    ],
    [
      'PATCH /api/v1/repos/{namespace}/{name}',
      'repository.updated',
      () =>
        api(base, 'PATCH', '/repos/acme/app', { auth: as('olga'), body: { visibility: 'public' } }),
    ],
    [
      'PUT /api/v1/repos/{namespace}/{name}/permissions/users/{username}',
      'repository.grants.changed',
      () =>
        api(base, 'PUT', '/repos/acme/app/permissions/users/adam', {
          auth: as('olga'),
          body: { level: 'read' },
        }),
    ],
    [
      'DELETE /api/v1/repos/{namespace}/{name}/permissions/users/{username}',
      'repository.grants.changed',
      () => api(base, 'DELETE', '/repos/acme/app/permissions/users/adam', { auth: as('olga') }),
    ],
    [
      'PUT /api/v1/repos/{namespace}/{name}/permissions/teams/{team}',
      'repository.grants.changed',
      () =>
        api(base, 'PUT', '/repos/acme/app/permissions/teams/devs', {
          auth: as('olga'),
          body: { level: 'write' },
        }),
    ],
    [
      'DELETE /api/v1/repos/{namespace}/{name}/permissions/teams/{team}',
      'repository.grants.changed',
      () => api(base, 'DELETE', '/repos/acme/app/permissions/teams/devs', { auth: as('olga') }),
    ],
    [
      'PUT /api/v1/repos/{namespace}/{name}/permissions',
      'repository.grants.changed',
      () =>
        api(base, 'PUT', '/repos/acme/app/permissions', {
          auth: as('olga'),
          body: { users: [{ username: 'adam', level: 'read' }], teams: [] },
        }),
    ],
    [
      'PUT /api/v1/repos/{namespace}/{name}/immutable-tags',
      'repository.immutable_tags.changed',
      () =>
        api(base, 'PUT', '/repos/acme/app/immutable-tags', {
          auth: as('olga'),
          body: { patterns: ['release-*'] },
        }),
    ],
    [
      'PUT /api/v1/repos/{namespace}/{name}/retention',
      'repository.retention.changed',
      () =>
        api(base, 'PUT', '/repos/acme/app/retention', {
          auth: as('olga'),
          body: { keepLatest: 5 },
        }),
    ],
    [
      'PUT /api/v1/namespaces/{namespace}/retention',
      'namespace.retention.changed',
      () =>
        api(base, 'PUT', '/namespaces/acme/retention', {
          auth: as('olga'),
          body: { deleteUntaggedAfterDays: 30 },
        }),
    ],
    [
      'POST /api/v1/repos/{namespace}/{name}/tags/{tag}/restore',
      'manifest.pushed',
      async () => {
        const reg = new RegistryClient(base, {
          authorization: basicHeader(u.olga.username, u.olga.password),
        });
        const first = await reg.pushImage('acme/app', 'back', ['layer-a']);
        await reg.pushImage('acme/app', 'back', ['layer-b']);
        await added();
        return api(base, 'POST', '/repos/acme/app/tags/back/restore', {
          auth: as('olga'),
          body: { digest: first.digest },
        });
      },
    ],
    [
      'DELETE /api/v1/repos/{namespace}/{name}/tags/{tag}',
      'tag.deleted',
      async () => {
        const reg = new RegistryClient(base, {
          authorization: basicHeader(u.olga.username, u.olga.password),
        });
        await reg.pushImage('acme/app', 'old', ['layer-a']);
        await added();
        return api(base, 'DELETE', '/repos/acme/app/tags/old', { auth: as('olga') });
      },
    ],
    [
      'DELETE /api/v1/repos/{namespace}/{name}',
      'repository.deleted',
      () => api(base, 'DELETE', '/repos/acme/app', { auth: as('olga') }),
    ],
    [
      'DELETE /api/v1/orgs/{org}/teams/{team}/members/{username}',
      'team.member.removed',
      () => api(base, 'DELETE', '/orgs/acme/teams/devs/members/rita', { auth: as('olga') }),
    ],
    [
      'DELETE /api/v1/orgs/{org}/teams/{team}',
      'team.deleted',
      () => api(base, 'DELETE', '/orgs/acme/teams/devs', { auth: as('olga') }),
    ],
    [
      'DELETE /api/v1/orgs/{org}/members/{username}',
      'org.member.removed',
      () => api(base, 'DELETE', '/orgs/acme/members/rita', { auth: as('olga') }),
    ],
    [
      'DELETE /api/v1/orgs/{org}',
      'org.deleted',
      () => api(base, 'DELETE', '/orgs/acme', { auth: as('olga') }),
    ],
  ];

  it.each(cases)('%s records %s', async (route, name, call) => {
    covered.add(route);
    const rows = await eventsOf(call);
    expect(rows.map((r) => r.event)).toEqual([name]);
  });

  it('covers every write route of the API document (apart from signing in and out)', () => {
    const doc = JSON.parse(readFileSync(join(PROJECT_ROOT, 'api/openapi.json'), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const writes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => !['get', 'head', 'options'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(writes.filter((w) => !NO_EVENT_ROUTES.has(w) && !covered.has(w))).toEqual([]);
  });

  it('records the actor, its credential, address and the request id', async () => {
    const rows = await eventsOf(() =>
      api(base, 'PATCH', '/users/me', {
        auth: as('olga'),
        body: { displayName: 'Olga O.' },
        headers: { 'x-request-id': 'req-outbox-1' },
      }),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].request_id).toBe('req-outbox-1');
    expect(rows[0].actor).toMatchObject({
      principal: { kind: 'user', username: 'olga' },
      credential: 'jwt',
      address: expect.any(String),
    });
    expect(rows[0].payload).toMatchObject({ username: 'olga', fields: ['displayName'] });
  });

  it('records nothing for a write that fails', async () => {
    const rows = await eventsOf(async () => {
      const r = await api(base, 'POST', '/orgs', { auth: as('olga'), body: { name: 'olga' } });
      expect(r.status).toBe(409);
      return { ...r, status: 200 };
    });
    expect(rows).toEqual([]);
  });

  it('marks delivered events', async () => {
    await eventsOf(() => api(base, 'PATCH', '/users/me', { auth: as('olga'), body: {} }));
    for (;;) {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL`,
      );
      if (rows[0].n === '0') break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});

describe('registry writes', () => {
  let reg: RegistryClient;
  const layer = 'registry-layer-1';
  const config = '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}';
  const manifest = (tagless = false) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
      ...(tagless ? { annotations: { tagless: 'yes' } } : {}),
    });

  beforeAll(() => {
    reg = new RegistryClient(base, {
      authorization: basicHeader(u.olga.username, u.olga.password),
    });
  });

  it('a first push creates the repository (repository.created) and stores the blob (blob.pushed)', async () => {
    const rows = await eventsOf(() =>
      reg.fetch(`/v2/olga/app/blobs/uploads/?digest=${sha256(config)}`, {
        method: 'POST',
        body: config,
      }),
    );
    expect(rows.map((r) => r.event)).toEqual(['repository.created', 'blob.pushed']);
    expect(rows[0].payload).toMatchObject({ repository: 'olga/app', via: 'push' });
    expect(rows[1].actor).toMatchObject({
      principal: { kind: 'user', username: 'olga' },
      credential: 'password',
    });
  });

  it('a chunked upload records blob.pushed on completion only', async () => {
    await added();
    const started = await reg.fetch(`/v2/olga/app/blobs/uploads/`, { method: 'POST' });
    expect(started.status).toBe(202);
    const patched = await reg.fetch(started.headers.get('location')!, {
      method: 'PATCH',
      body: layer,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(patched.status).toBe(202);
    expect(await added()).toEqual([]);
    const at = patched.headers.get('location')!;
    const done = await eventsOf(() =>
      reg.fetch(`${at}${at.includes('?') ? '&' : '?'}digest=${sha256(layer)}`, { method: 'PUT' }),
    );
    expect(done.map((r) => r.event)).toEqual(['blob.pushed']);
  });

  it('a manifest push records manifest.pushed with its tags', async () => {
    const rows = await eventsOf(() => reg.putManifest('olga/app', 'v1', manifest()));
    expect(rows.map((r) => r.event)).toEqual(['manifest.pushed']);
    expect(rows[0].payload).toMatchObject({ repository: 'olga/app', tags: ['v1'], created: true });
  });

  it('a mount records blob.mounted (and repository.created for a new repository)', async () => {
    const rows = await eventsOf(() =>
      reg.fetch(`/v2/olga/other/blobs/uploads/?mount=${sha256(layer)}&from=olga/app`, {
        method: 'POST',
      }),
    );
    expect(rows.map((r) => r.event)).toEqual(['repository.created', 'blob.mounted']);
  });

  it('deleting a blob records blob.unlinked', async () => {
    const rows = await eventsOf(() =>
      reg.fetch(`/v2/olga/other/blobs/${sha256(layer)}`, { method: 'DELETE' }),
    );
    expect(rows.map((r) => r.event)).toEqual(['blob.unlinked']);
  });

  it('deleting a tag records tag.deleted; a manifest by digest, manifest.deleted', async () => {
    await reg.putManifest('olga/app', 'v2', manifest(true));
    expect(
      (await eventsOf(() => reg.fetch(`/v2/olga/app/manifests/v2`, { method: 'DELETE' }))).map(
        (r) => r.event,
      ),
    ).toEqual(['tag.deleted']);
    const rows = await eventsOf(() =>
      reg.fetch(`/v2/olga/app/manifests/${sha256(manifest())}`, { method: 'DELETE' }),
    );
    expect(rows.map((r) => r.event)).toEqual(['manifest.deleted']);
    expect(rows[0].payload).toMatchObject({ tags: ['v1'] });
  });

  it('failed registry writes record nothing', async () => {
    const rows = await eventsOf(async () => {
      const r = await reg.putManifest('olga/app', 'bad', '{"schemaVersion":2}');
      expect(r.status).toBe(400);
      return new Response(null, { status: 200 });
    });
    expect(rows).toEqual([]);
  });
});
