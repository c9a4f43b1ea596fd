import cluster, { type Worker } from 'node:cluster';

/**
 * Several worker processes per node (`WORKERS`). The primary process starts the embedded
 * PostgreSQL when there is one, forks the workers (each a whole Aerugo on the same port, which the
 * primary hands connections to), restarts a worker that dies, and stops them all on SIGTERM or
 * SIGINT. It also carries the few things that must be one per node rather than one per process:
 *
 * - Cache invalidations of the in-memory cache (no REDIS_URL). A worker that invalidates keys
 *   removes them from its own store, then asks the primary to remove them from every other
 *   worker's store, and returns only once each has acknowledged: after a write returns, no worker
 *   of the node serves the old fact (the same promise Redis gives several nodes). A worker that
 *   does not acknowledge in time is killed, and starts again with an empty cache.
 * - Shared counters (sign-in attempt limits without Redis): kept in the primary, which workers
 *   call (see `sharedInPrimary`), so that the limits are the node's, not each worker's.
 * - Metrics: one scrape, on whichever worker or on METRICS_ADDRESS, returns the sum of every
 *   worker's figures (prom-client's cluster aggregation).
 *
 * Everything else a worker keeps in memory is already per node and safe to be per process: a
 * node must already cope with the next request of a client landing on another node (running
 * upload digests, pull counts, remembered platforms).
 */

/** Set in a worker's environment: the database every worker of the node uses. */
export const WORKER_DATABASE_URL = 'AERUGO_WORKER_DATABASE_URL';

interface Request {
  aerugo: 'ask';
  id: number;
  kind: string;
  body: unknown;
}
interface Reply {
  aerugo: 'reply';
  id: number;
  ok: boolean;
  body?: unknown;
  error?: string;
}
interface Cast {
  aerugo: 'cast';
  id: number;
  kind: string;
  body: unknown;
}

const isMessage = (m: unknown, type: string): boolean =>
  typeof m === 'object' && m !== null && (m as { aerugo?: unknown }).aerugo === type;

/** True in a worker process of a node that runs several (WORKERS > 1). */
export function isClusterWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_DATABASE_URL] !== undefined;
}

// ---- worker side ---------------------------------------------------------------------------------

let nextId = 1;
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const castHandlers = new Map<string, (body: unknown) => Promise<void> | void>();
let workerListening = false;

/** Starts listening to the primary (and stopping with it); called once a worker starts. */
export function listenAsWorker(): void {
  if (workerListening) return;
  workerListening = true;
  process.on('message', (m: unknown) => {
    if (isMessage(m, 'reply')) {
      const r = m as Reply;
      const w = waiting.get(r.id);
      if (!w) return;
      waiting.delete(r.id);
      if (r.ok) w.resolve(r.body);
      else w.reject(new Error(r.error ?? 'the primary process refused'));
    } else if (isMessage(m, 'cast')) {
      const c = m as Cast;
      const handler = castHandlers.get(c.kind);
      void Promise.resolve(handler?.(c.body)).then(
        () => process.send?.({ aerugo: 'reply', id: c.id, ok: true } satisfies Reply),
        (e: Error) =>
          process.send?.({
            aerugo: 'reply',
            id: c.id,
            ok: false,
            error: e.message,
          } satisfies Reply),
      );
    }
  });
  // The primary is gone (stopped, or killed): this worker must not outlive it.
  process.on('disconnect', () => process.exit(0));
}

/** Asks the primary process; rejects after `timeoutMs`. */
export function askPrimary<T>(kind: string, body: unknown, timeoutMs = 5000): Promise<T> {
  listenAsWorker();
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error(`the primary process did not answer ${kind} in time`));
    }, timeoutMs);
    timer.unref();
    waiting.set(id, {
      resolve: (v) => {
        clearTimeout(timer);
        resolve(v as T);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    process.send!({ aerugo: 'ask', id, kind, body } satisfies Request);
  });
}

/** Handles what the primary sends every worker (`kind`); the primary waits for it to finish. */
export function onPrimaryCast(
  kind: string,
  handler: (body: unknown) => Promise<void> | void,
): void {
  listenAsWorker();
  castHandlers.set(kind, handler);
}

/** Cache invalidations between the workers of a node (see the top of this file). */
export const INVALIDATE = 'cache.invalidate';

/**
 * An object whose methods run in the primary process, on the instance `name` that the primary
 * made (see SharedObjects): every method must be async and take and return JSON values.
 */
export function sharedInPrimary<T extends object>(name: string, methods: string[]): T {
  const local: Record<string, unknown> = { close: () => undefined };
  for (const method of methods)
    local[method] = (...args: unknown[]) => askPrimary('shared.call', { name, method, args });
  return local as T;
}

// ---- primary side --------------------------------------------------------------------------------

export type SharedObjects = Record<string, Record<string, (...args: never[]) => unknown>>;

export interface SuperviseOptions {
  workers: number;
  databaseUrl: string;
  /** Objects the workers call through sharedInPrimary, by name. */
  shared: SharedObjects;
  /** The whole node's metrics text (prom-client's aggregation over the workers). */
  metrics: () => Promise<string>;
  log: (message: string) => void;
  error: (message: string) => void;
  /** Called once every worker has stopped, with the exit code the node should end with. */
  stopped: (code: number) => Promise<void>;
}

/** How long a worker has to acknowledge an invalidation before it is killed. */
const CAST_TIMEOUT_MS = 2000;
/** Restarts of one worker slot within a minute before the node gives up. */
const MAX_RESTARTS_PER_MINUTE = 5;

/** Runs the node's workers until SIGTERM or SIGINT (primary process only). */
export function supervise(opts: SuperviseOptions): void {
  let stopping = false;
  const restarts: number[] = [];
  const pendingCasts = new Map<number, { left: Set<number>; done: () => void }>();
  let castId = 1;

  const fork = (): Worker => {
    const worker = cluster.fork({ [WORKER_DATABASE_URL]: opts.databaseUrl });
    worker.on('message', (m: unknown) => void onMessage(worker, m));
    return worker;
  };

  const live = (): Worker[] =>
    Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());

  const reply = (worker: Worker, r: Reply) => {
    if (!worker.isDead()) worker.send(r);
  };

  async function broadcast(from: Worker, kind: string, body: unknown): Promise<void> {
    const others = live().filter((w) => w.id !== from.id);
    if (!others.length) return;
    const id = castId++;
    await new Promise<void>((resolve) => {
      const left = new Set(others.map((w) => w.id));
      const timer = setTimeout(() => {
        // Whoever did not acknowledge may hold the old value: it starts again, empty.
        for (const w of others)
          if (left.has(w.id)) {
            opts.error(
              `worker ${w.process.pid} did not acknowledge an invalidation; restarting it`,
            );
            w.process.kill('SIGKILL');
          }
        pendingCasts.delete(id);
        resolve();
      }, CAST_TIMEOUT_MS);
      pendingCasts.set(id, {
        left,
        done: () => {
          clearTimeout(timer);
          pendingCasts.delete(id);
          resolve();
        },
      });
      for (const w of others) w.send({ aerugo: 'cast', id, kind, body } satisfies Cast);
    });
  }

  async function onMessage(worker: Worker, m: unknown): Promise<void> {
    if (isMessage(m, 'reply')) {
      // A worker acknowledging a cast.
      const r = m as Reply;
      const cast = pendingCasts.get(r.id);
      if (!cast) return;
      cast.left.delete(worker.id);
      if (!cast.left.size) cast.done();
      return;
    }
    if (!isMessage(m, 'ask')) return;
    const q = m as Request;
    try {
      let body: unknown;
      if (q.kind === INVALIDATE) await broadcast(worker, INVALIDATE, q.body);
      else if (q.kind === 'metrics') body = await opts.metrics();
      else if (q.kind === 'shared.call') {
        const { name, method, args } = q.body as { name: string; method: string; args: never[] };
        const fn = opts.shared[name]?.[method];
        if (typeof fn !== 'function') throw new Error(`no shared method ${name}.${method}`);
        body = await fn.apply(opts.shared[name], args);
      } else throw new Error(`unknown request ${q.kind}`);
      reply(worker, { aerugo: 'reply', id: q.id, ok: true, body });
    } catch (e) {
      reply(worker, { aerugo: 'reply', id: q.id, ok: false, error: (e as Error).message });
    }
  }

  cluster.on('exit', (worker, code, signal) => {
    // Acknowledgements it owed no longer hold anything up.
    for (const [, cast] of pendingCasts) {
      cast.left.delete(worker.id);
      if (!cast.left.size) cast.done();
    }
    if (stopping) {
      if (!live().length) void opts.stopped(exitCode);
      return;
    }
    if (code === 2) {
      // A configuration error: every worker would fail the same way.
      opts.error('a worker stopped on a configuration error; stopping the node');
      return void stop('configuration error', 2);
    }
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0] < now - 60_000) restarts.shift();
    if (restarts.length > MAX_RESTARTS_PER_MINUTE * opts.workers) {
      opts.error('workers keep stopping; stopping the node');
      return void stop('too many worker restarts', 1);
    }
    opts.error(
      `worker ${worker.process.pid} stopped (${signal ?? `exit code ${code}`}); starting another`,
    );
    fork();
  });

  let exitCode = 0;
  const stop = (why: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    opts.log(`${why}: stopping ${live().length} workers`);
    if (!live().length) return void opts.stopped(exitCode);
    for (const w of live()) w.process.kill('SIGTERM');
    // Whoever has not stopped after 20 s is killed.
    setTimeout(() => {
      for (const w of live()) w.process.kill('SIGKILL');
    }, 20_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM received'));
  process.once('SIGINT', () => stop('SIGINT received'));

  for (let i = 0; i < opts.workers; i++) fork();
  opts.log(`started ${opts.workers} worker processes`);
}
