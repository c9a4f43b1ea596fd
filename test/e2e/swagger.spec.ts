import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../support/server.js';
import { PROJECT_ROOT } from '../support/test-env.js';
import type { Json } from './identity-support.js';

let server: TestServer;
let doc: Json;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** `/api/v1/repos/:namespace/*name` and `/api/v1/repos/{namespace}/{name}` compare equal. */
function normalise(path: string): string {
  return path.replace(/\{[^}]+\}|:[A-Za-z0-9_]+|\*[A-Za-z0-9_]+/g, '{}');
}

/** Every route the application registered, read from Nest's start-up log. */
function registeredRoutes(logs: string): { path: string; method: string }[] {
  // eslint-disable-next-line no-control-regex
  const plain = logs.replace(/\u001b\[[0-9;]*m/g, '');
  return [...plain.matchAll(/Mapped \{([^,}]+), ([A-Z]+)\} route/g)].map((m) => ({
    path: m[1],
    method: m[2],
  }));
}

/** The routes of the Auth, Users, Orgs, Repos and ApiKeys controllers, as they must be documented. */
const IDENTITY_ROUTES = [
  'POST /api/v1/auth/register',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/refresh',
  'POST /api/v1/auth/logout',
  'GET /api/v1/auth/me',
  'GET /api/v1/auth/sessions',
  'DELETE /api/v1/auth/sessions/{id}',
  'GET /api/v1/auth/token',
  'POST /api/v1/auth/token',
  'POST /api/v1/users',
  'GET /api/v1/users',
  'PATCH /api/v1/users/me',
  'PUT /api/v1/users/me/password',
  'GET /api/v1/users/{username}',
  'PATCH /api/v1/users/{username}',
  'DELETE /api/v1/users/{username}',
  'GET /api/v1/orgs',
  'GET /api/v1/organizations',
  'POST /api/v1/orgs',
  'GET /api/v1/orgs/{org}',
  'PATCH /api/v1/orgs/{org}',
  'DELETE /api/v1/orgs/{org}',
  'GET /api/v1/orgs/{org}/members',
  'POST /api/v1/orgs/{org}/members',
  'PATCH /api/v1/orgs/{org}/members/{username}',
  'DELETE /api/v1/orgs/{org}/members/{username}',
  'GET /api/v1/orgs/{org}/teams',
  'POST /api/v1/orgs/{org}/teams',
  'GET /api/v1/orgs/{org}/teams/{team}',
  'PATCH /api/v1/orgs/{org}/teams/{team}',
  'DELETE /api/v1/orgs/{org}/teams/{team}',
  'GET /api/v1/orgs/{org}/teams/{team}/members',
  'PUT /api/v1/orgs/{org}/teams/{team}/members/{username}',
  'DELETE /api/v1/orgs/{org}/teams/{team}/members/{username}',
  'GET /api/v1/repos',
  'GET /api/v1/repos/repositories',
  'POST /api/v1/repos',
  'GET /api/v1/repos/{namespace}/{name}',
  'PATCH /api/v1/repos/{namespace}/{name}',
  'DELETE /api/v1/repos/{namespace}/{name}',
  'GET /api/v1/repos/{namespace}/{name}/permissions',
  'PUT /api/v1/repos/{namespace}/{name}/permissions',
  'PUT /api/v1/repos/{namespace}/{name}/permissions/users/{username}',
  'DELETE /api/v1/repos/{namespace}/{name}/permissions/users/{username}',
  'PUT /api/v1/repos/{namespace}/{name}/permissions/teams/{team}',
  'DELETE /api/v1/repos/{namespace}/{name}/permissions/teams/{team}',
  'GET /api/v1/search',
  'GET /api/v1/health',
  'POST /api/v1/api-keys',
  'GET /api/v1/api-keys',
  'DELETE /api/v1/api-keys/{id}',
];

function operations(): { path: string; method: (typeof METHODS)[number]; op: Json }[] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })),
  );
}

beforeAll(async () => {
  server = await startServer({ env: { LOG_LEVEL: 'log' } });
  const res = await fetch(`${server.url}/api/docs-json`);
  expect(res.status).toBe(200);
  doc = await res.json();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('Swagger', () => {
  it('serves the UI at /api/docs', async () => {
    const res = await fetch(`${server.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toMatch(/swagger/i);
  });

  it('documents every route the application registers (the registry API aside)', () => {
    const routes = registeredRoutes(server.logs()).filter((r) => !r.path.startsWith('/v2'));
    expect(routes.length).toBeGreaterThanOrEqual(IDENTITY_ROUTES.length);
    const documented = new Set(
      operations().map((o) => `${o.method.toUpperCase()} ${normalise(o.path)}`),
    );
    const missing = routes.filter((r) => !documented.has(`${r.method} ${normalise(r.path)}`));
    expect(missing).toEqual([]);
  });

  it('documents each identity, tenancy and API key route', () => {
    const documented = new Set(operations().map((o) => `${o.method.toUpperCase()} ${o.path}`));
    expect(IDENTITY_ROUTES.filter((r) => !documented.has(r))).toEqual([]);
    const logged = new Set(
      registeredRoutes(server.logs()).map((r) => `${r.method} ${normalise(r.path)}`),
    );
    expect(
      IDENTITY_ROUTES.filter(
        (r) => !logged.has(r.replace(/ .*/, (p) => ` ${normalise(p.slice(1))}`)),
      ),
    ).toEqual([]);
  });

  it('declares the bearer JWT, Basic and API key schemes', () => {
    expect(doc.components.securitySchemes).toEqual({
      jwt: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      basic: expect.objectContaining({ type: 'http', scheme: 'basic' }),
      'api-key': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-API-Key' }),
    });
  });

  it('gives each identity operation a success and an error response with schemas, and bodies a schema', () => {
    const problems: string[] = [];
    const ours = new Set(IDENTITY_ROUTES);
    for (const { path, method, op } of operations().filter((o) =>
      ours.has(`${o.method.toUpperCase()} ${o.path}`),
    )) {
      const codes = Object.keys(op.responses ?? {});
      const success = codes.filter((c) => c.startsWith('2'));
      if (!success.length) problems.push(`${method} ${path}: no success response`);
      for (const c of success) {
        if (c !== '204' && !op.responses[c].content)
          problems.push(`${method} ${path}: ${c} has no schema`);
      }
      const errors = codes.filter((c) => c.startsWith('4') || c.startsWith('5'));
      if (!errors.length) problems.push(`${method} ${path}: no error response`);
      for (const c of errors)
        if (!op.responses[c].content) problems.push(`${method} ${path}: ${c} has no schema`);
      const secured = (op.security ?? []).some((s: object) => Object.keys(s).length > 0);
      if (secured && !op.responses['401']) problems.push(`${method} ${path}: secured but no 401`);
      if (
        ['post', 'put', 'patch'].includes(method) &&
        op.requestBody &&
        !Object.values(op.requestBody.content ?? {}).every((c: Json) => c.schema)
      ) {
        problems.push(`${method} ${path}: request body without schema`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('types every schema property: no scalar documented as an empty object', () => {
    // `string | null` fields without an explicit type come out as {"type":"object"}, and Swagger
    // UI then offers `"description": {}` as the example body, which the API rejects.
    const untyped: string[] = [];
    for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, Json>))
      for (const [prop, v] of Object.entries((schema.properties ?? {}) as Record<string, Json>))
        if (v.type === 'object' && !v.properties && !v.additionalProperties && !v.$ref)
          untyped.push(`${name}.${prop}`);
    expect(untyped).toEqual([]);
    const update = doc.components.schemas.UpdateRepoDto.properties.description;
    expect(update).toMatchObject({ type: 'string', nullable: true });
  });

  it('documents the default role of a new member as optional', () => {
    const add = doc.components.schemas.AddMemberDto;
    expect(add.properties.role).toMatchObject({ default: 'member' });
    expect(add.required).toEqual(['username']);
  });

  it('documents the health report for 200 and 503', () => {
    const op = doc.paths['/api/v1/health'].get;
    for (const code of ['200', '503'])
      expect(op.responses[code].content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/HealthReportDto',
      });
    const report = doc.components.schemas.HealthReportDto;
    expect(Object.keys(report.properties).sort()).toEqual([
      'cache',
      'database',
      'status',
      'storage',
    ]);
    expect(report.properties.status.enum).toEqual(['ok', 'degraded', 'down']);
  });

  it('marks the aliases of the original API documentation as deprecated', () => {
    expect(doc.paths['/api/v1/organizations'].get.deprecated).toBe(true);
    expect(doc.paths['/api/v1/repos/repositories'].get.deprecated).toBe(true);
    expect(doc.paths['/api/v1/orgs'].get.deprecated).toBeUndefined();
  });

  it('serves exactly the committed api/openapi.json', () => {
    const committed = JSON.parse(readFileSync(join(PROJECT_ROOT, 'api/openapi.json'), 'utf8'));
    if (JSON.stringify(doc) !== JSON.stringify(committed))
      throw new Error(
        'the served OpenAPI document differs from api/openapi.json: run `npm run openapi` and commit the result',
      );
  });

  it('refuses anonymous callers on every operation documented as needing credentials', async () => {
    const mismatches: string[] = [];
    let probed = 0;
    for (const { path, method, op } of operations()) {
      const security: object[] = op.security ?? [];
      const anonymousAllowed =
        security.length === 0 || security.some((s) => Object.keys(s).length === 0);
      if (anonymousAllowed) continue;
      probed++;
      const url =
        server.url +
        path.replace(/\{id\}/g, '00000000-0000-4000-8000-000000000000').replace(/\{[^}]+\}/g, 'x');
      const res = await fetch(url, { method: method.toUpperCase() });
      if (res.status !== 401) mismatches.push(`${method} ${path}: anonymous got ${res.status}`);
    }
    expect(probed).toBeGreaterThan(25);
    expect(mismatches).toEqual([]);
  });
});
