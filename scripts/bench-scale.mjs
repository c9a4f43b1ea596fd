#!/usr/bin/env node
// How Aerugo's metadata paths scale: catalog and tag-list pages, manifest GET by tag, the referrers
// list, and the cost of a push (a tagged manifest, and a referrer of an image), on an empty
// database and then with 1,000,000 repositories, one repository of 100,000 tags and one image with
// 10,000 referrers.
//
//   npm run bench:scale             (builds, then runs)
//   node scripts/bench-scale.mjs [--repositories N] [--tags N] [--referrers N]
//
// Needs a PostgreSQL server it may create a database on: BENCH_ADMIN_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/postgres). The rows are inserted with SQL (generate_series),
// not pushed, then the same requests are measured again. Latency is measured with one client
// (wrk, one connection, BENCH_SECONDS per figure, default 5) so that p99 is the time one request
// takes, not queueing. Asserts nothing.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { freePort, tokenFor, waitFor, wrk as wrkRun } from './bench-clients.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const option = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const REPOSITORIES = option('--repositories', 1_000_000);
const TAGS = option('--tags', 100_000);
const REFERRERS = option('--referrers', 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ADMIN_URL =
  process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

const dbName = `aerugo_bench_scale_${Date.now()}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE "${dbName}"`);
const dbUrl = new URL(ADMIN_URL);
dbUrl.pathname = `/${dbName}`;
const dataDir = await mkdtemp(join(tmpdir(), 'aerugo-bench-scale-'));

const port = await freePort();
const password = randomBytes(12).toString('hex');
const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], {
  env: {
    ...process.env,
    LISTEN_ADDRESS: `127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    DATABASE_URL: dbUrl.href,
    LOG_LEVEL: 'warn',
    ADMIN_USERNAME: 'bench',
    ADMIN_PASSWORD: password,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
const db = new pg.Client({ connectionString: dbUrl.href });

async function cleanup() {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await db.end().catch(() => {});
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => {});
  await admin.end().catch(() => {});
  await rm(dataDir, { recursive: true, force: true });
}

try {
  await waitFor(`${base}/api/v1/health/ready`, 120, (res) => res.ok);
  await db.connect();

  const token = await tokenFor(
    { name: 'Aerugo', base, user: 'bench', password },
    'repository:bench/app:pull,push registry:catalog:*',
  );
  const auth = { authorization: `Bearer ${token}` };
  const blob = async (bytes) => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const start = await fetch(`${base}/v2/bench/app/blobs/uploads/`, {
      method: 'POST',
      headers: auth,
    });
    const location = new URL(start.headers.get('location'), base);
    location.searchParams.set('digest', digest);
    const res = await fetch(location, { method: 'PUT', headers: auth, body: bytes });
    if (res.status !== 201) throw new Error(`blob push: ${res.status}`);
    return { digest, size: bytes.length };
  };
  const config = await blob(Buffer.from('{"architecture":"amd64","os":"linux"}'));
  const layer = await blob(randomBytes(4096));
  /** PUTs a manifest under `reference`; the response and the milliseconds it took. */
  const putManifest = async (reference, manifest) => {
    const t0 = performance.now();
    const res = await fetch(`${base}/v2/bench/app/manifests/${reference}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': MANIFEST_TYPE },
      body: JSON.stringify(manifest),
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`manifest push (${reference}): ${res.status}`);
    return { res, ms: performance.now() - t0 };
  };
  let pushes = 0;
  /** Pushes a new small manifest under a new tag; returns the milliseconds it took. */
  const push = async () => {
    const n = pushes++;
    const { ms } = await putManifest(`push-${n}`, {
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      annotations: { n: String(n) },
    });
    return ms;
  };
  await push();
  const subject = await manifestDigestOf('push-0');
  let referrersPushed = 0;
  /** Pushes a new referrer of push-0 (an SBOM-like artifact, by digest); returns milliseconds. */
  const pushReferrer = async () => {
    const manifest = {
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      artifactType: 'application/vnd.example.sbom.v1+json',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.example.sbom.v1+json', ...layer }],
      subject: { mediaType: MANIFEST_TYPE, ...subject },
      annotations: { n: String(referrersPushed++) },
    };
    const digest = `sha256:${createHash('sha256').update(JSON.stringify(manifest)).digest('hex')}`;
    const { res, ms } = await putManifest(digest, manifest);
    if (res.headers.get('oci-subject') !== subject.digest) throw new Error('no OCI-Subject');
    return ms;
  };
  await pushReferrer();

  /** The digest and size of the manifest a tag names. */
  async function manifestDigestOf(tag) {
    const res = await fetch(`${base}/v2/bench/app/manifests/${tag}`, {
      method: 'HEAD',
      headers: { ...auth, accept: MANIFEST_TYPE },
    });
    return {
      digest: res.headers.get('docker-content-digest'),
      size: Number(res.headers.get('content-length')),
    };
  }

  const measure = async (label) => {
    const middle = async (sql) => (await db.query(sql)).rows[0]?.name;
    const app = `SELECT id FROM repositories WHERE name = 'bench/app'`;
    const rows = [
      {
        repo: await middle(
          `SELECT name FROM repositories ORDER BY name
            OFFSET (SELECT count(*) / 2 FROM repositories) LIMIT 1`,
        ),
        tag: await middle(
          `SELECT name FROM tags WHERE repository_id = (${app}) ORDER BY name
            OFFSET (SELECT count(*) / 2 FROM tags WHERE repository_id = (${app})) LIMIT 1`,
        ),
      },
    ];
    const lastRepo = encodeURIComponent(rows[0].repo);
    const lastTag = encodeURIComponent(rows[0].tag);
    const out = {
      catalog: await wrk(`${base}/v2/_catalog?n=100&last=${lastRepo}`, auth),
      tags: await wrk(`${base}/v2/bench/app/tags/list?n=100&last=${lastTag}`, auth),
      manifest: await wrk(`${base}/v2/bench/app/manifests/push-0`, {
        ...auth,
        accept: MANIFEST_TYPE,
      }),
      referrers: await wrk(`${base}/v2/bench/app/referrers/${subject.digest}`, auth),
    };
    const listed = await fetch(`${base}/v2/bench/app/referrers/${subject.digest}`, {
      headers: auth,
    });
    const index = Buffer.from(await listed.arrayBuffer());
    out.referrersListed = {
      count: JSON.parse(index.toString()).manifests.length,
      bytes: index.length,
    };
    out.push = await medianAndP90(push);
    out.referrerPush = await medianAndP90(pushReferrer);
    console.error(`bench-scale: measured ${label}`);
    return out;
  };

  const empty = await measure('the empty database');
  console.error(
    `bench-scale: inserting ${REPOSITORIES} repositories, ${TAGS} tags and ${REFERRERS} referrers (SQL, a minute or two)`,
  );
  const t0 = performance.now();
  await db.query(
    `INSERT INTO namespaces (name, kind)
     SELECT 'scale-' || n, 'reserved' FROM generate_series(0, 999) n ON CONFLICT DO NOTHING`,
  );
  await db.query(
    `INSERT INTO repositories (name, namespace, visibility)
     SELECT 'scale-' || (i % 1000) || '/repo-' || lpad(i::text, 7, '0'), 'scale-' || (i % 1000), 'private'
       FROM generate_series(1, $1::int) i`,
    [REPOSITORIES],
  );
  await db.query(
    `INSERT INTO tags (repository_id, name, manifest_digest, digest_algorithm)
     SELECT t.repository_id, 'scale-' || lpad(i::text, 6, '0'), t.manifest_digest, t.digest_algorithm
       FROM tags t JOIN repositories r ON r.id = t.repository_id, generate_series(1, $1::int) i
      WHERE r.name = 'bench/app' AND t.name = 'push-0'`,
    [TAGS],
  );
  // Referrers of push-0 (rows as a push writes them: exact bytes, both digests, subject, type).
  await db.query(
    `INSERT INTO manifests (repository_id, digest, digest_sha512, media_type, content, size,
                            subject_digest, artifact_type, annotations)
     SELECT r.id, 'sha256:' || encode(sha256(c), 'hex'), 'sha512:' || encode(sha512(c), 'hex'),
            $2, c, length(c), $3, 'application/vnd.example.sbom.v1+json',
            jsonb_build_object('n', 'scale-' || i)
       FROM repositories r,
            LATERAL generate_series(1, $1::int) i,
            LATERAL (SELECT convert_to('{"schemaVersion":2,"artifactType":"application/vnd.example.sbom.v1+json","n":' || i || '}', 'UTF8') AS c) b
      WHERE r.name = 'bench/app'`,
    [REFERRERS, MANIFEST_TYPE, subject.digest],
  );
  await db.query('ANALYZE');
  console.error(`bench-scale: inserted in ${Math.round((performance.now() - t0) / 1000)} s`);
  const full = await measure(
    `${REPOSITORIES} repositories, ${TAGS} tags and ${REFERRERS} referrers`,
  );

  const fmt = (v) => (Number.isInteger(v) || v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2));
  const rowsOut = [
    ['`_catalog?n=100&last=<middle>` p99 (ms)', empty.catalog.p99, full.catalog.p99, '< 20 ms'],
    ['`tags/list?n=100&last=<middle>` p99 (ms)', empty.tags.p99, full.tags.p99, '< 20 ms'],
    ['manifest GET by tag (req/s, 1 client)', empty.manifest.rps, full.manifest.rps, '≥ 0.9×'],
    ['manifest GET by tag p99 (ms)', empty.manifest.p99, full.manifest.p99, ''],
    ['manifest PUT with a new tag, median (ms)', empty.push.median, full.push.median, ''],
    ['manifest PUT with a new tag, p90 (ms)', empty.push.p90, full.push.p90, ''],
    ['referrers listed (manifests)', empty.referrersListed.count, full.referrersListed.count, ''],
    [
      'referrers list size (KiB)',
      empty.referrersListed.bytes / 1024,
      full.referrersListed.bytes / 1024,
      '',
    ],
    ['referrers GET (req/s, 1 client)', empty.referrers.rps, full.referrers.rps, ''],
    ['referrers GET p99 (ms)', empty.referrers.p99, full.referrers.p99, ''],
    [
      'referrer PUT (by digest), median (ms)',
      empty.referrerPush.median,
      full.referrerPush.median,
      '',
    ],
    ['referrer PUT (by digest), p90 (ms)', empty.referrerPush.p90, full.referrerPush.p90, ''],
  ];
  console.log(
    `| figure | empty database | ${REPOSITORIES} repositories, ${TAGS} tags, ${REFERRERS} referrers | goal |`,
  );
  console.log('|---|---|---|---|');
  for (const [f, a, b, g] of rowsOut) console.log(`| ${f} | ${fmt(a)} | ${fmt(b)} | ${g} |`);
} finally {
  await cleanup();
}

/** Median and 90th percentile of 50 runs of `fn` (each answering its milliseconds), one at a time. */
async function medianAndP90(fn) {
  const times = [];
  for (let i = 0; i < 50; i++) times.push(await fn());
  times.sort((a, b) => a - b);
  return { median: times[25], p90: times[45] };
}

/** One client for SECONDS: requests/s and p99 in ms. */
function wrk(url, headers) {
  return wrkRun(url, { headers, connections: 1, seconds: SECONDS });
}
