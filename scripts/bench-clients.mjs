// What the benchmark scripts (bench.mjs, bench-scale.mjs, bench-memory.mjs) share: a free loopback
// port, waiting for a node to answer, a bearer token from a registry's own challenge, and wrk.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A loopback port nothing listens on now. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Waits until `url` answers in a way `ready` accepts (by default: anything but a 5xx), polling every
 * 100 ms for at most `seconds`.
 */
export async function waitFor(url, seconds = 120, ready = (res) => res.status < 500) {
  for (let i = 0; i < seconds * 10; i++) {
    try {
      if (ready(await fetch(url))) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

/**
 * A bearer token for `scope` (several scopes separated by spaces) from the registry's own challenge,
 * signing in with `reg.user`/`reg.password`; undefined when the registry asks for none.
 * `reg`: { name, base, user, password }.
 */
export async function tokenFor(reg, scope) {
  const res = await fetch(`${reg.base}/v2/`);
  const challenge = res.headers.get('www-authenticate');
  if (res.status === 200 || !challenge) return undefined;
  const params = Object.fromEntries(
    [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  );
  const url = new URL(params.realm);
  url.searchParams.set('service', params.service);
  for (const s of scope.split(' ')) url.searchParams.append('scope', s);
  const basic = Buffer.from(`${reg.user}:${reg.password}`).toString('base64');
  const t = await fetch(url, { headers: { authorization: `Basic ${basic}` } });
  if (!t.ok) throw new Error(`${reg.name}: token endpoint answered ${t.status}`);
  const body = await t.json();
  return body.token ?? body.access_token;
}

/** The Authorization header for a token from tokenFor (none without one). */
export const authHeaders = (token) => (token ? { authorization: `Bearer ${token}` } : {});

/**
 * wrk with `connections` keep-alive connections (one thread per core, at most one per connection)
 * for `seconds`: requests/s and p99 in ms. Throws when any answer was not 2xx/3xx. `method` only
 * names the request in that error (wrk sends GET).
 */
export async function wrk(
  url,
  { headers = {}, connections = 1, seconds = 5, method = 'GET' } = {},
) {
  const h = Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const threads = Math.min(connections, Math.max(1, cpus().length));
  const { stdout } = await run(
    'wrk',
    ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency', ...h, url],
    { maxBuffer: 1 << 20 },
  );
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
  if (non2xx) throw new Error(`wrk ${method} ${url}: ${non2xx} error responses`);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN),
    p99: p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]] : NaN,
  };
}
