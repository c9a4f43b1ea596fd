import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Agent, request } from 'node:http';
import { API_ERROR_CODES } from '../../src/common/api-error.js';
import { parseRegistryPath } from '../../src/registry/routes.js';
import {
  adminApiKey,
  adminClient,
  basicHeader,
  randomBytesSeeded,
  sha256,
  sha512,
} from '../support/registry.js';
import { startServer, type TestServer } from '../support/server.js';
import { ok, registerAndLogin } from './identity-support.js';

/**
 * Property-based fuzzing of every route of both APIs: random names, references, digests, query
 * parameters, headers (Content-Range, Range, Content-Length, Authorization) and bodies (manifest
 * JSON deeply nested, huge, of wrong types and unknown media types; management bodies built from
 * the OpenAPI schemas), with and without credentials. Every answer must be below 500, and every
 * error well formed: the OCI error JSON under /v2/, `{statusCode, message, error, code}` under
 * /api/v1/. The seed is printed; FUZZ_SEED=<seed> replays a run, FUZZ_RUNS sets its size.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 250);

let server: TestServer;
let host: string;
let port: number;
const creds: Record<string, string | undefined> = {};
let manifestBody = '';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

// ---- raw HTTP: headers as generated (fetch would refuse or rewrite some) -----------------------

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Answer> {
  // A keep-alive connection, as registry clients use: a server that answers before reading the
  // whole body (a 405, a 413) then reads and discards the rest instead of closing on the sender.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const req = request(
      { host: '127.0.0.1', port, method, path, headers, agent, timeout: 60_000 },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`)));
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    req.end(body);
  }).finally(() => agent.destroy());
}

/** The assertion every answer must pass. */
function checkAnswer(method: string, path: string, a: Answer): void {
  const where = `${method} ${path} → ${a.status} ${a.body.slice(0, 300)}`;
  if (a.status >= 500) throw new Error(`5xx: ${where}`);
  if (a.status < 400 || method === 'HEAD') return;
  let body: unknown;
  try {
    body = JSON.parse(a.body);
  } catch {
    throw new Error(`error body is not JSON: ${where}`);
  }
  const b = body as Record<string, unknown>;
  const pathname = path.split('?')[0];
  const isTokenEndpoint = /^\/(api\/v1\/)?auth\/token\/?$/.test(pathname);
  if (pathname === '/v2' || pathname.startsWith('/v2/')) {
    const errors = b.errors as { code?: unknown; message?: unknown }[] | undefined;
    if (
      !Array.isArray(errors) ||
      !errors.length ||
      !errors.every((e) => typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code))
    )
      throw new Error(`not an OCI error body: ${where}`);
    if (a.headers['docker-distribution-api-version'] !== 'registry/2.0')
      throw new Error(`no Docker-Distribution-API-Version: ${where}`);
    return;
  }
  // The token endpoint answers its refusals in the Docker and OAuth2 shapes (documented).
  if (isTokenEndpoint && (Array.isArray(b.errors) || typeof b.error === 'string')) return;
  if (
    b.statusCode !== a.status ||
    typeof b.error !== 'string' ||
    !(typeof b.message === 'string' || Array.isArray(b.message)) ||
    typeof b.code !== 'string' ||
    !Object.hasOwn(API_ERROR_CODES, b.code)
  )
    throw new Error(`not a management error body with a code: ${where}`);
  if ((a.status === 429 || a.status === 503) && !a.headers['retry-after'])
    throw new Error(`no Retry-After: ${where}`);
}

// ---- generators ---------------------------------------------------------------------------------

const nasty = fc.constantFrom(
  '',
  ' ',
  '.',
  '..',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\uffff',
  '%',
  '%ZZ',
  '%00',
  '%ff',
  '%C0%80',
  '99999999999999999999',
  '-1',
  '1e400',
  'NaN',
  'null',
  '[]',
  '{}',
  "'; DROP TABLE users; --",
  'a'.repeat(300),
  'é'.repeat(200),
  '🚀',
  '../../etc/passwd',
  'sha256:' + 'a'.repeat(64),
);
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: nasty },
  { weight: 1, arbitrary: fc.integer().map(String) },
);
const component = fc.stringMatching(/^[a-z0-9]{1,8}([._-][a-z0-9]{1,6})?$/);
const repoName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('alice/app', 'alice/other', 'nobody/app', 'alice-org/x'),
  },
  {
    weight: 3,
    arbitrary: fc.array(component, { minLength: 1, maxLength: 4 }).map((c) => c.join('/')),
  },
  { weight: 2, arbitrary: text },
);
const digest = fc.oneof(
  fc.constantFrom(
    sha256('x'),
    sha512('x'),
    'sha256:xyz',
    'md5:0123',
    'sha256:',
    'sha512:' + 'f'.repeat(64),
  ),
  fc.uint8Array({ maxLength: 16 }).map((b) => sha256(b)),
  text,
);
const reference = fc.oneof(
  fc.constantFrom('v1', 'latest', '-bad', 'a'.repeat(129)),
  component,
  digest,
  text,
);
const uuid = fc.oneof(fc.uuid().map(String), text);

/**
 * A URL component: encoded, or "raw" — printable ASCII kept as it is (so malformed escapes such
 * as `%ZZ`, lone `%` and `%00` reach the server), everything else percent-encoded byte by byte.
 */
const segment = (value: string, raw: boolean): string => {
  const encode = (v: string) => {
    try {
      return encodeURIComponent(v);
    } catch {
      return '%ED%A0%80'; // what a lone surrogate would be in (invalid) UTF-8
    }
  };
  if (!raw) return encode(value);
  return [...value]
    .map((ch) => (/^[\x21-\x7e]$/.test(ch) && ch !== '?' && ch !== '#' ? ch : encode(ch)))
    .join('');
};
const nameSegment = (name: string, raw: boolean) =>
  raw
    ? segment(name, true)
    : name
        .split('/')
        .map((p) => segment(p, false))
        .join('/');

const queryValue = fc.oneof(text, fc.nat().map(String), fc.constantFrom('0', '1', '100', '1001'));
const queryFor = (names: string[]) =>
  fc
    .array(fc.tuple(fc.constantFrom(...names), queryValue, fc.boolean()), { maxLength: 4 })
    .map((pairs) =>
      pairs.length ? '?' + pairs.map(([k, v, raw]) => `${k}=${segment(v, raw)}`).join('&') : '',
    );

const authorization = fc.oneof(
  { weight: 3, arbitrary: fc.constant<string | undefined>(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('alice-key', 'admin-key', 'alice-bearer').map((k) => `@${k}`),
  },
  { weight: 1, arbitrary: fc.constant('@alice-basic') },
  {
    weight: 2,
    arbitrary: fc.oneof(
      text.map((t) => `Basic ${Buffer.from(t).toString('base64')}`),
      text.map((t) => `Basic ${t}`),
      text.map((t) => `Bearer ${t}`),
      text.map((t) => `Bearer ak_${t}`),
      text,
    ),
  },
);

const rangeHeader = fc.oneof(
  fc.constant<string | undefined>(undefined),
  fc.tuple(fc.option(fc.nat()), fc.option(fc.nat())).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`),
  fc.constantFrom(
    'bytes=0-0',
    'bytes=-0',
    'bytes=99999999999999999999-',
    'bytes=0-1,2-3',
    'items=1-2',
  ),
  text,
);
const contentRange = fc.oneof(
  fc.constant<string | undefined>(undefined),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `bytes ${a}-${b}/*`),
  fc.constantFrom('0-99999999999999999999', '5-1', 'bytes=0-0', '-1-2'),
  text,
);

/** Header values as a client could send them (Node refuses CR, LF and NUL in headers). */
const headerSafe = (v: string) => v.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');

// ---- manifest bodies ----------------------------------------------------------------------------

const { deep } = fc.letrec((tie) => ({
  deep: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 2 }),
    fc.array(tie('deep'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'mediaType', 'layers', 'config', 'digest'), tie('deep'), {
      maxKeys: 3,
    }),
  ),
}));
const mediaType = fc.oneof(
  fc.constantFrom(
    OCI_MANIFEST,
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.docker.distribution.manifest.v1+prettyjws',
    'application/vnd.example.unknown+json',
    'text/plain',
    'application/json',
  ),
  text,
);
const descriptor = fc.record(
  {
    mediaType,
    digest: fc.oneof(digest, fc.constant(sha256('config'))),
    size: fc.oneof(fc.nat(), fc.integer(), fc.double(), text, fc.constant(null)),
    annotations: fc.dictionary(text, fc.oneof(text, fc.integer())),
    urls: fc.oneof(fc.array(text), text),
  },
  { requiredKeys: [] },
);
const manifestJson = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null).map(() => manifestBody) },
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          schemaVersion: fc.oneof(fc.constant(2), fc.constant(1), fc.constant('2'), fc.integer()),
          mediaType,
          config: descriptor,
          layers: fc.oneof(fc.array(descriptor, { maxLength: 4 }), descriptor, text),
          manifests: fc.oneof(fc.array(descriptor, { maxLength: 3 }), text),
          subject: descriptor,
          artifactType: mediaType,
          annotations: fc.dictionary(text, fc.oneof(text, fc.integer(), fc.constant(null))),
        },
        { requiredKeys: [] },
      )
      .map((m) => JSON.stringify(m)),
  },
  { weight: 1, arbitrary: deep.map((d) => JSON.stringify(d)) },
  {
    weight: 1,
    arbitrary: fc.nat({ max: 20000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(3, 4.5).map((mb) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        annotations: { big: 'x'.repeat(Math.floor(mb * 1024 * 1024)) },
      }),
    ),
  },
  { weight: 1, arbitrary: text },
);

// ---- routes -------------------------------------------------------------------------------------

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Cases print as one line (a 4 MiB body as its length and first bytes), for readable failures. */
function printable(c: Case): Case {
  return Object.assign(c, {
    [fc.toStringMethod]: () =>
      `${c.method} ${c.path} ${JSON.stringify(c.headers)}` +
      (c.body
        ? ` body(${c.body.length} B): ${JSON.stringify(c.body.subarray(0, 160).toString('utf8'))}`
        : ''),
  });
}

/** Every registry route of routes.ts, with the methods it serves plus some it does not. */
const REGISTRY_ROUTES: { kind: string; methods: string[]; path: fc.Arbitrary<string> }[] = [
  { kind: 'base', methods: ['GET', 'HEAD', 'POST'], path: fc.constantFrom('/v2/', '/v2') },
  { kind: 'catalog', methods: ['GET', 'HEAD', 'DELETE'], path: fc.constant('/v2/_catalog') },
  {
    kind: 'tags',
    methods: ['GET', 'HEAD', 'PUT'],
    path: fc
      .tuple(repoName, fc.boolean())
      .map(([n, raw]) => `/v2/${nameSegment(n, raw)}/tags/list`),
  },
  {
    kind: 'manifest',
    methods: ['GET', 'HEAD', 'PUT', 'DELETE', 'POST'],
    path: fc
      .tuple(repoName, reference, fc.boolean())
      .map(([n, r, raw]) => `/v2/${nameSegment(n, raw)}/manifests/${segment(r, raw)}`),
  },
  {
    kind: 'blob',
    methods: ['GET', 'HEAD', 'DELETE', 'PUT'],
    path: fc
      .tuple(repoName, digest, fc.boolean())
      .map(([n, d, raw]) => `/v2/${nameSegment(n, raw)}/blobs/${segment(d, raw)}`),
  },
  {
    kind: 'uploadStart',
    methods: ['POST', 'GET'],
    path: fc
      .tuple(repoName, fc.boolean())
      .map(([n, raw]) => `/v2/${nameSegment(n, raw)}/blobs/uploads/`),
  },
  {
    kind: 'upload',
    methods: ['GET', 'HEAD', 'PATCH', 'PUT', 'DELETE', 'POST'],
    path: fc
      .tuple(repoName, uuid, fc.boolean())
      .map(([n, u, raw]) => `/v2/${nameSegment(n, raw)}/blobs/uploads/${segment(u, raw)}`),
  },
  {
    kind: 'referrers',
    methods: ['GET', 'HEAD', 'DELETE'],
    path: fc
      .tuple(repoName, digest, fc.boolean())
      .map(([n, d, raw]) => `/v2/${nameSegment(n, raw)}/referrers/${segment(d, raw)}`),
  },
];

const REGISTRY_QUERY = [
  'n',
  'last',
  'digest',
  'mount',
  'from',
  'tag',
  'artifactType',
  'digest-algorithm',
];

function withAuth(
  headers: Record<string, string>,
  auth: string | undefined,
): Record<string, string> {
  if (auth === undefined) return headers;
  const named = auth.startsWith('@') ? creds[auth.slice(1)] : headerSafe(auth);
  if (named === undefined) return headers;
  if (auth === '@admin-key' || auth === '@alice-key') return { ...headers, 'x-api-key': named };
  return { ...headers, authorization: named };
}

const registryCase: fc.Arbitrary<Case> = fc
  .integer({ min: 0, max: REGISTRY_ROUTES.length - 1 })
  .chain((i) => {
    const route = REGISTRY_ROUTES[i];
    return fc.record({
      method: fc.constantFrom(...route.methods),
      path: route.path,
      query: queryFor(REGISTRY_QUERY),
      auth: authorization,
      range: rangeHeader,
      contentRange,
      contentType: fc.option(mediaType),
      body: fc.oneof(
        fc.constant<string | undefined>(undefined),
        manifestJson,
        fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b).toString('latin1')),
      ),
      lengthZero: fc.boolean(),
    });
  })
  .map((c) => {
    let headers: Record<string, string> = {};
    if (c.range !== undefined) headers.range = headerSafe(c.range);
    if (c.contentRange !== undefined) headers['content-range'] = headerSafe(c.contentRange);
    if (c.contentType) headers['content-type'] = headerSafe(c.contentType);
    headers = withAuth(headers, c.auth);
    let body: Buffer | undefined;
    if (c.body !== undefined && c.method !== 'GET' && c.method !== 'HEAD') {
      body = Buffer.from(c.body, 'utf8');
      // Content-Length as declared: the body's length, or 0 (the body then is never read).
      headers['content-length'] = String(c.lengthZero ? 0 : body.length);
      if (c.lengthZero) body = undefined;
    }
    return printable({ method: c.method, path: c.path + c.query, headers, body });
  });

// ---- management routes, from the OpenAPI document -----------------------------------------------

interface ApiRoute {
  method: string;
  template: string;
  query: string[];
  bodyFields: string[];
}

type Schema = { $ref?: string; properties?: Record<string, unknown>; allOf?: Schema[] };

function fieldsOf(doc: Json, schema: Schema | undefined): string[] {
  if (!schema) return [];
  if (schema.$ref) return fieldsOf(doc, doc.components.schemas[schema.$ref.split('/').pop()!]);
  return [
    ...Object.keys(schema.properties ?? {}),
    ...(schema.allOf ?? []).flatMap((s) => fieldsOf(doc, s)),
  ];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the OpenAPI document
type Json = any;

function routesOf(doc: Json): ApiRoute[] {
  const out: ApiRoute[] = [];
  for (const [template, ops] of Object.entries<Json>(doc.paths)) {
    for (const [method, op] of Object.entries<Json>(ops)) {
      const params: Json[] = op.parameters ?? [];
      out.push({
        method: method.toUpperCase(),
        template,
        query: params.filter((p) => p.in === 'query').map((p) => p.name),
        bodyFields: fieldsOf(
          doc,
          op.requestBody?.content?.['application/json']?.schema ??
            op.requestBody?.content?.['application/x-www-form-urlencoded']?.schema,
        ),
      });
    }
  }
  return out;
}

const paramValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('alice', 'alice-org', 'me', 'app', 'devs', 'nobody') },
  { weight: 1, arbitrary: fc.uuid().map(String) },
  { weight: 3, arbitrary: text },
);

const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  text,
  fc.constantFrom(
    'alice',
    'alice-org',
    'owner',
    'admin',
    'member',
    'read',
    'write',
    'public',
    'private',
    'password',
  ),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(
    fc.oneof(text, fc.record({ username: text, team: text, level: text }, { requiredKeys: [] })),
    {
      maxLength: 3,
    },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

function managementCase(routes: ApiRoute[]): fc.Arbitrary<Case> {
  return fc
    .integer({ min: 0, max: routes.length - 1 })
    .chain((i) => {
      const route = routes[i];
      const names = (route.template.match(/\{[^}]+\}/g) ?? []).length;
      return fc.record({
        route: fc.constant(route),
        method: fc.oneof(
          { weight: 6, arbitrary: fc.constant(route.method) },
          fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'),
        ),
        params: fc.array(fc.tuple(paramValue, fc.boolean()), {
          minLength: names,
          maxLength: names,
        }),
        query: queryFor([...route.query, 'page', 'perPage', 'q', 'namespace', 'x']),
        auth: authorization,
        body: fc.oneof(
          {
            weight: 5,
            arbitrary: fc
              .dictionary(fc.constantFrom(...route.bodyFields, 'extra', 'key\u0000'), fieldValue, {
                maxKeys: 5,
              })
              .map((o) => JSON.stringify(o)),
          },
          { weight: 1, arbitrary: text },
          { weight: 1, arbitrary: fc.constant('{"broken":') },
          { weight: 1, arbitrary: fc.constant(undefined) },
        ),
        contentType: fc.constantFrom(
          'application/json',
          'application/json; charset=latin1',
          'application/x-www-form-urlencoded',
          'text/plain',
          'application/json; charset=nope',
        ),
      });
    })
    .map((c) => {
      let k = 0;
      const path = c.route.template.replace(/\{[^}]+\}/g, () => {
        const [v, raw] = c.params[k++];
        return segment(v, raw);
      });
      let headers: Record<string, string> = {};
      let body: Buffer | undefined;
      if (c.body !== undefined && c.method !== 'GET' && c.method !== 'HEAD') {
        body = Buffer.from(c.body, 'utf8');
        headers['content-type'] = c.contentType;
        headers['content-length'] = String(body.length);
      }
      headers = withAuth(headers, c.auth);
      return printable({ method: c.method, path: path + c.query, headers, body });
    });
}

// ---- the run ------------------------------------------------------------------------------------

let apiRoutes: ApiRoute[] = [];

beforeAll(async () => {
  server = await startServer({
    env: {
      // Random credentials must not lock the fixed ones out: this run is about input, not limits.
      AUTH_RATE_LIMIT_PER_ACCOUNT: '1000000',
      AUTH_RATE_LIMIT_PER_ADDRESS: '1000000',
    },
  });
  port = server.port;
  host = server.url;
  const admin = await adminClient(host, (creds['admin-key'] = await adminApiKey(host)));
  const alice = await registerAndLogin(host, 'alice', 'alice-password-1');
  creds['alice-bearer'] = `Bearer ${alice.accessToken}`;
  creds['alice-basic'] = basicHeader('alice', 'alice-password-1');
  const key = await ok(host, 'POST', '/api-keys', {
    auth: { bearer: alice.accessToken },
    body: { name: 'fuzz' },
  });
  creds['alice-key'] = key.key;
  await ok(host, 'POST', '/orgs', {
    auth: { bearer: alice.accessToken },
    body: { name: 'alice-org' },
  });
  await ok(host, 'POST', '/orgs/alice-org/teams', {
    auth: { bearer: alice.accessToken },
    body: { name: 'devs' },
  });
  const { body } = await admin.pushImage('alice/app', 'v1', [randomBytesSeeded(1000, 3)]);
  manifestBody = body;
  apiRoutes = routesOf(await (await fetch(`${host}/api/docs-json`)).json());
  console.log(`[fuzz] seed ${SEED}, ${RUNS} runs per property (replay: FUZZ_SEED=${SEED})`);
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('fuzzing both APIs: never a 5xx, always a well-formed error', () => {
  it('covers every registry route kind and every route of the OpenAPI document', () => {
    const samples: Record<string, string> = {
      base: '/v2/',
      catalog: '/v2/_catalog',
      tags: '/v2/a/tags/list',
      manifest: '/v2/a/manifests/v1',
      blob: `/v2/a/blobs/${sha256('x')}`,
      uploadStart: '/v2/a/blobs/uploads/',
      upload: '/v2/a/blobs/uploads/6f1c2a9e-0000-4000-8000-000000000000',
      referrers: `/v2/a/referrers/${sha256('x')}`,
    };
    for (const route of REGISTRY_ROUTES)
      expect(parseRegistryPath(samples[route.kind]).kind).toBe(route.kind);
    expect(new Set(REGISTRY_ROUTES.map((r) => r.kind)).size).toBe(8);
    expect(apiRoutes.length).toBeGreaterThan(40);
    expect(apiRoutes.some((r) => r.bodyFields.includes('displayName'))).toBe(true);
  });

  it('the registry API /v2/', async () => {
    await fc.assert(
      fc.asyncProperty(registryCase, async (c) => {
        checkAnswer(c.method, c.path, await send(c.method, c.path, c.headers, c.body));
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000);

  it('the management API /api/v1/ (every route of the OpenAPI document)', async () => {
    await fc.assert(
      fc.asyncProperty(managementCase(apiRoutes), async (c) => {
        checkAnswer(c.method, c.path, await send(c.method, c.path, c.headers, c.body));
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }, 600_000);

  it('the server is still healthy and logged no unexpected error', async () => {
    expect((await fetch(`${host}/api/v1/health`)).status).toBe(200);
    expect(server.logs()).not.toMatch(/ExceptionsHandler|internal error|INTERNAL_ERROR/);
  });
});
