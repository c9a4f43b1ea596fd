import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TEST_ADMIN } from './registry.js';
import { request } from './tls.js';
import { adminDatabaseUrl, PROJECT_ROOT, testDatabasePrefix } from './test-env.js';

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  /** undefined when the server runs its own embedded PostgreSQL. */
  databaseUrl?: string;
  process: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export interface StartOptions {
  /** A database URL, or null to start with DATABASE_URL unset (embedded PostgreSQL). */
  databaseUrl?: string | null;
  dataDir?: string;
  port?: number;
  env?: Record<string, string | undefined>;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Serve HTTPS with these files; `ca` is what the readiness check trusts. */
  tls?: { certFile: string; keyFile: string; ca: Buffer };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** A fresh, empty database on the test PostgreSQL; returns its URL. Dropped at global teardown. */
export async function createTestDatabase(): Promise<string> {
  const admin = adminDatabaseUrl();
  const name = `${testDatabasePrefix()}${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh folder that the embedded PostgreSQL's "postgres" user can reach. */
export function tempDir(prefix = 'aerugo-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

const BASE_ENV_DROP = [
  'DATABASE_URL',
  'REDIS_URL',
  'S3_BUCKET',
  'STORAGE_DRIVER',
  'PUBLIC_URL',
  'DATA_DIR',
  'LISTEN_ADDRESS',
  'TLS_CERT_FILE',
  'TLS_KEY_FILE',
];

/** Starts `node dist/src/main.js` as a child process and waits until it answers HTTP. */
export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? tempDir();
  const databaseUrl =
    opts.databaseUrl === null ? undefined : (opts.databaseUrl ?? (await createTestDatabase()));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !BASE_ENV_DROP.includes(k)) env[k] = v;
  delete env.NODE_OPTIONS;
  Object.assign(env, {
    // Every test server bootstraps the registry suites' administrator unless the suite chooses.
    ADMIN_USERNAME: TEST_ADMIN.username,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    // Suites register many accounts from one loopback address; the suite that tests the
    // registration limit sets its own.
    REGISTRATION_RATE_LIMIT_PER_ADDRESS: '100000',
    LISTEN_ADDRESS: `${opts.host ?? '127.0.0.1'}:${port}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...(opts.tls ? { TLS_CERT_FILE: opts.tls.certFile, TLS_KEY_FILE: opts.tls.keyFile } : {}),
  });
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/src/main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Recorded for the global teardown, which stops what a failed suite could not (global-setup.js).
  if (process.env.AERUGO_TEST_CHILDREN && child.pid)
    appendFileSync(process.env.AERUGO_TEST_CHILDREN, `${child.pid}\n`);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `${opts.tls ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    try {
      if (opts.tls) await request(`${url}/v2/`, { ca: opts.tls.ca });
      else await fetch(`${url}/v2/`);
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`server did not start within 90 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  return {
    url,
    port,
    dataDir,
    databaseUrl,
    process: child,
    logs: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
