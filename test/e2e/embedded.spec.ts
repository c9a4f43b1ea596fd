import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminClient } from '../support/registry.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';

/** The pid of the postmaster serving `pgDir`, from its postmaster.pid. */
function postmasterPid(pgDir: string): number {
  return Number(readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line names `dir` (a postmaster runs as `postgres -D <dir> …`). */
function processesFor(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(dir))
        pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function until(what: string, condition: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The zero-setup default: no DATABASE_URL, so the server runs its own embedded PostgreSQL. */
describe('zero-setup default (embedded PostgreSQL, filesystem blobs)', () => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('starts with no configuration, keeps data across a restart', async () => {
    const dataDir = tempDir('aerugo-embedded-');
    server = await startServer({ databaseUrl: null, dataDir });
    let c = await adminClient(server.url);
    const health = await c.fetch('/api/v1/health');
    expect(await health.json()).toEqual({
      status: 'ok',
      database: 'ok',
      storage: 'ok',
      cache: {
        backend: 'memory',
        status: 'ok',
        circuit: 'closed',
        operations: { attempted: expect.any(Number), failed: 0, timedOut: 0, skipped: 0 },
      },
    });
    const { digest } = await c.pushImage('zero/setup', 'v1', ['embedded layer']);
    await server.stop();

    server = await startServer({ databaseUrl: null, dataDir });
    c = await adminClient(server.url);
    const res = await c.fetch('/v2/zero/setup/manifests/v1');
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const catalog = (await (await c.fetch('/v2/_catalog')).json()) as { repositories: string[] };
    expect(catalog.repositories).toEqual(['zero/setup']);
  });

  it('after a SIGKILL, a restart stops the orphaned PostgreSQL cleanly and a SIGTERM leaves none running', async () => {
    await server?.stop();
    const dataDir = tempDir('aerugo-orphan-');
    const pgDir = join(dataDir, 'postgres');
    server = await startServer({ databaseUrl: null, dataDir });
    let c = await adminClient(server.url);
    const { digest } = await c.pushImage('orphan/app', 'v1', ['kept across the kill']);
    const orphan = postmasterPid(pgDir);
    await server.kill();
    expect(isAlive(orphan)).toBe(true); // SIGKILL gives the node no chance to stop it

    server = await startServer({ databaseUrl: null, dataDir });
    expect(isAlive(orphan)).toBe(false);
    expect(postmasterPid(pgDir)).not.toBe(orphan);
    expect(server.logs()).toMatch(/left running by an Aerugo process that ended/);
    c = await adminClient(server.url);
    const res = await c.fetch('/v2/orphan/app/manifests/v1');
    expect(res.headers.get('docker-content-digest')).toBe(digest);

    await server.stop();
    server = undefined;
    await until('no PostgreSQL runs for the data folder', () => processesFor(pgDir).length === 0);
    expect(existsSync(join(pgDir, 'postmaster.pid'))).toBe(false);
  });

  it('a bad configuration value stops start-up with a message naming the variable', async () => {
    await expect(
      startServer({ databaseUrl: null, env: { LISTEN_ADDRESS: 'nonsense' } }),
    ).rejects.toThrow(/LISTEN_ADDRESS/);
    await expect(
      startServer({ databaseUrl: null, env: { STORAGE_DRIVER: 'tape' } }),
    ).rejects.toThrow(/STORAGE_DRIVER/);
    await expect(
      startServer({ databaseUrl: null, env: { DATABASE_URL: 'mysql://x' } }),
    ).rejects.toThrow(/DATABASE_URL/);
  });
});
