#!/usr/bin/env node
// Side-by-side benchmark of the registry's hot paths: Aerugo against CNCF Distribution.
//
//   npm run bench                     (builds, then runs everything below)
//   node scripts/bench.mjs [--quick] [--only aerugo] [--parts load,blob,skopeo] [--json FILE]
//
// Starts a fresh Aerugo node (DATABASE_URL when set, else its embedded PostgreSQL; filesystem blobs
// in a temporary folder; bearer tokens from its own token service) and, when Debian's
// `docker-registry` package is installed, Distribution with filesystem storage and no auth, both on
// loopback ports. Drives both with the same clients in the same run (wrk, curl, skopeo: whichever
// is installed) and prints one table with the ratio Aerugo / Distribution per figure (for times,
// Distribution / Aerugo, so that above 1 always means Aerugo is faster). Asserts nothing: figures
// belong here, not in the test suite.
//
// Settings (environment): BENCH_SECONDS (per wrk run, default 10), BENCH_CONNECTIONS (32),
// BENCH_BLOB_MIB (512), BENCH_IMAGE (layer sizes for mkimage, default 32m,24m,16m,8m,4m),
// BENCH_PUSHERS (8); one client's push and pull are the median of 3 runs; the rest of the environment reaches Aerugo (e.g. WORKERS=2). --quick: 3 s runs, a 64 MiB blob, a small image.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { authHeaders, freePort, tokenFor, waitFor, wrk as wrkRun } from './bench-clients.mjs';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('--quick');
const SECONDS = Number(process.env.BENCH_SECONDS ?? (quick ? 3 : 10));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const BLOB_MIB = Number(process.env.BENCH_BLOB_MIB ?? (quick ? 64 : 512));
const IMAGE = process.env.BENCH_IMAGE ?? (quick ? '4m,2m,1m' : '32m,24m,16m,8m,4m');
const PUSHERS = Number(process.env.BENCH_PUSHERS ?? 8);
// One client's push and pull: the median of this many runs, each of its own image (the first
// run of a freshly started server pays for its warm-up, Node's JIT compiling the upload path).
const SINGLE_RUNS = 3;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const only = option('--only');
// --parts: which groups of figures to measure (default all): load (wrk/ab on manifests and blob
// HEAD), blob (curl PUT and GET of the big blob), skopeo (pushes and pulls).
const parts = new Set((option('--parts') ?? 'load,blob,skopeo').split(','));
const jsonOut = option('--json');

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
const have = async (cmd) =>
  run('sh', ['-c', `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
const tools = {
  wrk: parts.has('load') && (await have('wrk')) && (await have('ab')),
  curl: parts.has('blob') && (await have('curl')),
  skopeo: parts.has('skopeo') && (await have('skopeo')),
  distribution: only !== 'aerugo' && existsSync('/usr/bin/docker-registry'),
};

const work = await mkdtemp(join(tmpdir(), 'aerugo-bench-'));
await chmod(work, 0o755);
const children = [];
const cleanup = async () => {
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  await rm(work, { recursive: true, force: true }).catch(() => {});
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

// ---- the two registries -------------------------------------------------------------------------

async function startAerugo() {
  const port = await freePort();
  const dataDir = join(work, 'aerugo');
  const password = randomBytes(12).toString('hex');
  const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], {
    env: {
      ...process.env,
      LISTEN_ADDRESS: `127.0.0.1:${port}`,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      ADMIN_USERNAME: 'bench',
      ADMIN_PASSWORD: password,
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/api/v1/health/ready`, 180);
  return {
    name: 'Aerugo',
    base,
    host: `127.0.0.1:${port}`,
    pid: child.pid,
    user: 'bench',
    password,
  };
}

async function startDistribution() {
  const port = await freePort();
  const dir = join(work, 'distribution');
  const config = join(work, 'distribution.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: error, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${dir} }, delete: { enabled: true } }`,
      `http: { addr: 127.0.0.1:${port} }`,
      '',
    ].join('\n'),
  );
  // Its log names every 404 of a client's HEAD-before-upload: not wanted here.
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
  return { name: 'Distribution', base, host: `127.0.0.1:${port}`, pid: child.pid };
}

async function pushBlob(reg, repo, token, bytes) {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  // POST, then PUT with the body: what both accept (Distribution 2.8 ignores a digest on POST).
  const start = await fetch(`${reg.base}/v2/${repo}/blobs/uploads/`, {
    method: 'POST',
    headers: authHeaders(token),
  });
  if (start.status !== 202) throw new Error(`${reg.name}: upload start answered ${start.status}`);
  const location = new URL(start.headers.get('location'), reg.base);
  location.searchParams.set('digest', digest);
  const res = await fetch(location, {
    method: 'PUT',
    headers: { ...authHeaders(token), 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  if (res.status !== 201) throw new Error(`${reg.name}: blob push answered ${res.status}`);
  return digest;
}

/** One small image (config + 1 MiB layer) tagged v1; returns the manifest's digest. */
async function seed(reg, repo, token) {
  const layer = randomBytes(1024 * 1024);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: {} }));
  const layerDigest = await pushBlob(reg, repo, token, layer);
  const configDigest = await pushBlob(reg, repo, token, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: configDigest,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: layerDigest,
          size: layer.length,
        },
      ],
    }),
  );
  const res = await fetch(`${reg.base}/v2/${repo}/manifests/v1`, {
    method: 'PUT',
    headers: { ...authHeaders(token), 'content-type': MANIFEST_TYPE },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`${reg.name}: manifest push answered ${res.status}`);
  return { manifest: res.headers.get('docker-content-digest'), blob: layerDigest };
}

// ---- clients ------------------------------------------------------------------------------------

/** CONNECTIONS keep-alive connections for SECONDS: requests/s and p99 in ms. */
async function load(url, method, headers) {
  // wrk waits for a body after a HEAD answer (it does not tell its parser the method): ab for HEAD.
  return method === 'HEAD' ? ab(url, headers) : wrk(url, method, headers);
}

const wrk = (url, method, headers) =>
  wrkRun(url, { method, headers, connections: CONNECTIONS, seconds: SECONDS });

async function ab(url, headers) {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const { stdout } = await run(
    'ab',
    [
      '-q',
      '-i',
      '-k',
      '-c',
      String(CONNECTIONS),
      '-t',
      String(SECONDS),
      '-n',
      '10000000',
      ...h,
      url,
    ],
    { maxBuffer: 1 << 20 },
  );
  const failed = Number(/Failed requests:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  if (failed || non2xx) throw new Error(`ab HEAD ${url}: ${failed} failed, ${non2xx} non-2xx`);
  return {
    rps: Number(/Requests per second:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN),
    p99: Number(/\s99%\s+(\d+)/.exec(stdout)?.[1] ?? NaN),
  };
}

async function curl(args) {
  const { stdout } = await run('curl', ['-sS', '--fail', ...args], { maxBuffer: 1 << 20 });
  return stdout;
}

const curlHeaders = (token) => (token ? ['-H', `Authorization: Bearer ${token}`] : []);

async function makeBigBlob() {
  const file = join(work, 'big.bin');
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1024 * 1024);
  async function* gen() {
    for (let i = 0; i < BLOB_MIB; i++) {
      for (let j = 0; j < chunk.length; j += 4)
        chunk.writeUInt32LE(((i * 262144 + j) * 2654435761) >>> 0, j);
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(gen, createWriteStream(file));
  return { file, digest: `sha256:${hash.digest('hex')}` };
}

/** Monolithic PUT of the big blob (POST, then PUT with the body): MB/s. */
async function putBig(reg, repo, token, big) {
  const start = await fetch(`${reg.base}/v2/${repo}/blobs/uploads/`, {
    method: 'POST',
    headers: authHeaders(token),
  });
  const location = new URL(start.headers.get('location'), reg.base);
  location.searchParams.set('digest', big.digest);
  const speed = await curl([
    ...curlHeaders(token),
    '-H',
    'Content-Type: application/octet-stream',
    '-X',
    'PUT',
    '-T',
    big.file,
    '-o',
    '/dev/null',
    '-w',
    '%{speed_upload}',
    location.href,
  ]);
  return Number(speed) / 1e6;
}

async function getBig(reg, repo, token, big, range) {
  const speed = await curl([
    ...curlHeaders(token),
    '-L',
    ...(range ? ['-r', range] : []),
    '-o',
    '/dev/null',
    '-w',
    '%{speed_download}',
    `${reg.base}/v2/${repo}/blobs/${big.digest}`,
  ]);
  return Number(speed) / 1e6;
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function skopeoCreds(reg, direction) {
  return reg.user ? [`--${direction}-creds`, `${reg.user}:${reg.password}`] : [];
}

async function skopeoPush(reg, layout, tag, repo) {
  await run('skopeo', [
    'copy',
    '-q',
    '--dest-tls-verify=false',
    ...skopeoCreds(reg, 'dest'),
    `oci:${layout}:${tag}`,
    `docker://${reg.host}/${repo}:${tag}`,
  ]);
}

async function skopeoPull(reg, repo, tag) {
  const out = await mkdtemp(join(work, 'pull-'));
  await run('skopeo', [
    'copy',
    '-q',
    '--src-tls-verify=false',
    ...skopeoCreds(reg, 'src'),
    `docker://${reg.host}/${repo}:${tag}`,
    `oci:${out}:${tag}`,
  ]);
  await rm(out, { recursive: true, force: true });
}

/** Layout with one image per pusher, each of its own seed (so no client cache can skip a layer). */
async function makeImages(label, count) {
  const layout = join(work, `images-${label}`);
  for (let i = 0; i < count; i++)
    await run(process.execPath, [
      join(root, 'scripts/mkimage.mjs'),
      layout,
      `p${i}`,
      IMAGE,
      '--seed',
      `${label}-${i}-${Date.now()}`,
    ]);
  return layout;
}

/** Peak RSS of the process and its children (the workers, with WORKERS > 1), in MiB. */
async function peakRssMiB(pid) {
  const children = await run('pgrep', ['-P', String(pid)]).then(
    (r) => r.stdout.split('\n').filter(Boolean).map(Number),
    () => [],
  );
  let total = 0;
  for (const p of [pid, ...children]) {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      total += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    } catch {
      // gone
    }
  }
  return total || NaN;
}

// ---- the run ------------------------------------------------------------------------------------

const results = []; // { figure, unit, better: 'higher'|'lower', values: { Aerugo, Distribution }, goal }
const record = (figure, unit, better, goal, name, value) => {
  let r = results.find((x) => x.figure === figure);
  if (!r) results.push((r = { figure, unit, better, goal, values: {} }));
  r.values[name] = value;
};

console.error(
  `bench: ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; ${SECONDS} s per wrk run at ${CONNECTIONS} connections, ${BLOB_MIB} MiB blob, image ${IMAGE}, ${PUSHERS} pushers`,
);
const registries = [await startAerugo()];
if (tools.distribution) registries.push(await startDistribution());
else console.error('bench: Distribution not measured (install Debian package docker-registry)');
const big = tools.curl ? await makeBigBlob() : undefined;

try {
  for (const reg of registries) {
    const repo = 'bench/app';
    const token = await tokenFor(reg, `repository:${repo}:pull,push`);
    const { manifest, blob } = await seed(reg, repo, token);
    const accept = { accept: MANIFEST_TYPE, ...authHeaders(token) };
    console.error(`bench: ${reg.name} seeded; measuring`);
    if (tools.wrk) {
      const cases = [
        ['manifest GET by tag', 'GET', `/v2/${repo}/manifests/v1`, accept],
        ['manifest GET by digest', 'GET', `/v2/${repo}/manifests/${manifest}`, accept],
        ['manifest HEAD by tag', 'HEAD', `/v2/${repo}/manifests/v1`, accept],
        ['manifest HEAD by digest', 'HEAD', `/v2/${repo}/manifests/${manifest}`, accept],
        ['blob HEAD', 'HEAD', `/v2/${repo}/blobs/${blob}`, authHeaders(token)],
      ];
      for (const [figure, method, path, headers] of cases) {
        const r = await load(`${reg.base}${path}`, method, headers);
        record(`${figure} (req/s)`, 'req/s', 'higher', 2, reg.name, r.rps);
        record(`${figure} (p99 ms)`, 'ms', 'lower', 1, reg.name, r.p99);
      }
    }
    if (big) {
      record(
        'monolithic blob PUT (MB/s)',
        'MB/s',
        'higher',
        2,
        reg.name,
        await putBig(reg, repo, token, big),
      );
      record('blob GET (MB/s)', 'MB/s', 'higher', 1, reg.name, await getBig(reg, repo, token, big));
      const half = Math.floor((BLOB_MIB * 1024 * 1024) / 2);
      record(
        'ranged blob GET, second half (MB/s)',
        'MB/s',
        'higher',
        1,
        reg.name,
        await getBig(reg, repo, token, big, `${half}-`),
      );
    }
    if (tools.skopeo) {
      // Images p0…p(PUSHERS-1) for the concurrent clients, and SINGLE_RUNS more for one client
      // (never pushed twice to one registry, so no client cache turns an upload into a mount).
      const layout = await makeImages(reg.name, PUSHERS + SINGLE_RUNS);
      const single = Array.from({ length: SINGLE_RUNS }, (_, i) => `p${PUSHERS + i}`);
      const pushTimes = [];
      for (const [i, t] of single.entries())
        pushTimes.push(await timed(() => skopeoPush(reg, layout, t, `bench/one-${i}`)));
      record('skopeo push, one client (s)', 's', 'lower', 1 / 0.9, reg.name, median(pushTimes));
      const pullTimes = [];
      for (const [i, t] of single.entries())
        pullTimes.push(await timed(() => skopeoPull(reg, `bench/one-${i}`, t)));
      record('skopeo pull, one client (s)', 's', 'lower', 1 / 0.9, reg.name, median(pullTimes));
      const tags = Array.from({ length: PUSHERS }, (_, i) => `p${i}`);
      record(
        `${PUSHERS} concurrent skopeo pushes (s)`,
        's',
        'lower',
        1 / 0.9,
        reg.name,
        await timed(() =>
          Promise.all(tags.map((t, i) => skopeoPush(reg, layout, t, `bench/many-${i}`))),
        ),
      );
      record(
        `${PUSHERS} concurrent skopeo pulls (s)`,
        's',
        'lower',
        1 / 0.9,
        reg.name,
        await timed(() => Promise.all(tags.map((t, i) => skopeoPull(reg, `bench/many-${i}`, t)))),
      );
      await rm(layout, { recursive: true, force: true });
    }
    record('server peak RSS (MiB)', 'MiB', 'lower', undefined, reg.name, await peakRssMiB(reg.pid));
  }
} finally {
  await cleanup();
}

// ---- the table ----------------------------------------------------------------------------------

const fmt = (v) =>
  Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2)) : '–';
const rows = results.map((r) => {
  const a = r.values.Aerugo;
  const d = r.values.Distribution;
  // Above 1 means Aerugo is better, for every figure.
  const ratio =
    Number.isFinite(a) && Number.isFinite(d) ? (r.better === 'higher' ? a / d : d / a) : NaN;
  const goal = r.goal === undefined ? '' : `≥ ${fmt(r.goal)}×`;
  const met = r.goal === undefined || !Number.isFinite(ratio) ? '' : ratio >= r.goal ? 'yes' : 'no';
  return [r.figure, fmt(a), fmt(d), Number.isFinite(ratio) ? `${fmt(ratio)}×` : '–', goal, met];
});
const head = ['figure', 'Aerugo', 'Distribution', 'ratio (>1: Aerugo better)', 'goal', 'met'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (jsonOut) await writeFile(jsonOut, JSON.stringify({ cores: cpus().length, results }, null, 2));
