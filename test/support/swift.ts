/**
 * A throw-away S3-compatible server for tests: OpenStack Swift (Debian packages `swift`,
 * `swift-proxy`, `swift-account`, `swift-container`, `swift-object`, `memcached`) with its `s3api`
 * and `tempauth` middlewares, configured from scratch in a temporary directory.
 *
 * Every call to `startS3TestServer` builds its own instance (own config, rings, devices, memcached
 * and loopback ports), so several test files can use it one after another or side by side.
 * `stop()` ends the processes and deletes the directory. Nothing under /etc/swift is used.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';

const execFileAsync = promisify(execFile);

export interface S3TestServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  stop(): Promise<void>;
}

const SERVER_BINARIES = {
  proxy: 'swift-proxy-server',
  account: 'swift-account-server',
  container: 'swift-container-server',
  object: 'swift-object-server',
} as const;
const RING_BUILDER = 'swift-ring-builder';
const MEMCACHED = 'memcached';
const START_TIMEOUT_MS = 60_000;
const REGION = 'us-east-1';

function findBinary(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/bin',
    '/usr/sbin',
    '/usr/local/bin',
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** True when the Swift servers, the ring builder and memcached are installed. */
export function s3ServerAvailable(): boolean {
  return [...Object.values(SERVER_BINARIES), RING_BUILDER, MEMCACHED].every(
    (b) => findBinary(b) !== undefined,
  );
}

function requireBinary(name: string): string {
  const path = findBinary(name);
  if (!path)
    throw new Error(
      `${name} is not installed (apt-get install swift-proxy swift-account swift-container swift-object memcached)`,
    );
  return path;
}

/** Reserves `count` distinct free loopback ports (held open together, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => {
      return new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve(s));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The environment for the Python children: no inherited interpreter overrides. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('PYTHON') && !k.startsWith('PYENV')) env[k] = v;
  }
  env.PYTHONDONTWRITEBYTECODE = '1';
  return env;
}

interface Ports {
  proxy: number;
  account: number;
  container: number;
  object: number;
  memcached: number;
}

function swiftConf(): string {
  return `[swift-hash]
swift_hash_path_suffix = ${randomBytes(8).toString('hex')}
swift_hash_path_prefix = ${randomBytes(8).toString('hex')}

[storage-policy:0]
name = Policy-0
default = yes

[swift-constraints]
max_file_size = 5368709122
container_listing_limit = 10000
`;
}

function commonDefaults(dir: string, port: number, user: string): string {
  return `[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 0
user = ${user}
swift_dir = ${dir}
devices = ${join(dir, 'srv')}
mount_check = false
log_level = WARNING
log_address = ${join(dir, 'no-syslog')}
`;
}

function backendConf(
  kind: 'account' | 'container' | 'object',
  dir: string,
  port: number,
  user: string,
): string {
  return `${commonDefaults(dir, port, user)}
[pipeline:main]
pipeline = ${kind}-server

[app:${kind}-server]
use = egg:swift#${kind}
`;
}

function proxyConf(
  dir: string,
  ports: Ports,
  user: string,
  account: string,
  userName: string,
  secret: string,
): string {
  return `${commonDefaults(dir, ports.proxy, user)}
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true
conn_timeout = 2
node_timeout = 30

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${ports.memcached}

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:s3api]
use = egg:swift#s3api
location = ${REGION}
max_upload_part_num = 10000
max_parts_listing = 10000

[filter:tempauth]
use = egg:swift#tempauth
user_${account}_${userName} = ${secret} .admin

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000

[filter:dlo]
use = egg:swift#dlo
`;
}

/** The Python interpreter Swift's scripts run with (from the ring builder's `#!` line). */
async function swiftPython(ringBuilder: string): Promise<string> {
  const first = (await readFile(ringBuilder, 'utf8')).split('\n', 1)[0];
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
  if (!m) throw new Error(`cannot tell which Python runs ${ringBuilder}`);
  // "#!/usr/bin/env python3" names the interpreter in its second word.
  return m[1].endsWith('/env') && m[2] ? m[2] : m[1];
}

/**
 * Builds the three one-device, one-replica rings (partition power 2). This uses the RingBuilder
 * class behind `swift-ring-builder` in a single Python process: nine separate CLI runs
 * (create/add/rebalance per ring) would cost several seconds of interpreter start-up.
 */
const RING_SCRIPT = `
import sys
from swift.common.ring import RingBuilder
swift_dir = sys.argv[1]
for kind, port in zip(('account', 'container', 'object'), sys.argv[2:5]):
    builder = RingBuilder(2, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port),
                     'device': 'd1', 'weight': 100, 'meta': ''})
    builder.rebalance()
    builder.save('%s/%s.builder' % (swift_dir, kind))
    builder.get_ring().save('%s/%s.ring.gz' % (swift_dir, kind))
`;

async function buildRings(python: string, dir: string, ports: Ports): Promise<void> {
  await execFileAsync(
    python,
    ['-c', RING_SCRIPT, dir, String(ports.account), String(ports.container), String(ports.object)],
    { cwd: dir, env: childEnv() },
  );
}

async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface Child {
  name: string;
  proc: ChildProcess;
  log: string;
  exited: boolean;
}

async function stopChild(child: Child): Promise<void> {
  if (child.exited) return;
  const done = new Promise<void>((resolve) => child.proc.once('exit', () => resolve()));
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!child.exited) child.proc.kill('SIGKILL');
  }, 5000);
  await done;
  clearTimeout(timer);
}

/** Starts a private Swift cluster with the S3 API on a loopback port and creates the bucket. */
export async function startS3TestServer(opts: { bucket?: string } = {}): Promise<S3TestServer> {
  const began = Date.now();
  const bins = {
    proxy: requireBinary(SERVER_BINARIES.proxy),
    account: requireBinary(SERVER_BINARIES.account),
    container: requireBinary(SERVER_BINARIES.container),
    object: requireBinary(SERVER_BINARIES.object),
    ringBuilder: requireBinary(RING_BUILDER),
    memcached: requireBinary(MEMCACHED),
  };
  const dir = await mkdtemp(join(tmpdir(), 'aerugo-swift-'));
  const user = userInfo().username;
  const account = 'aerugo';
  const userName = 's3';
  const secretKey = randomBytes(12).toString('hex');
  const bucket = opts.bucket ?? 'aerugo-test';
  const [proxy, accountPort, containerPort, objectPort, memcachedPort] = await freePorts(5);
  const ports: Ports = {
    proxy,
    account: accountPort,
    container: containerPort,
    object: objectPort,
    memcached: memcachedPort,
  };

  const children: Child[] = [];
  const killAll = () => {
    for (const c of children) if (!c.exited) c.proc.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const stop = async () => {
    process.removeListener('exit', killAll);
    await Promise.all(children.map(stopChild));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await mkdir(join(dir, 'srv', 'd1'), { recursive: true });
    await writeFile(join(dir, 'swift.conf'), swiftConf());
    await writeFile(
      join(dir, 'proxy-server.conf'),
      proxyConf(dir, ports, user, account, userName, secretKey),
    );
    for (const kind of ['account', 'container', 'object'] as const) {
      await writeFile(join(dir, `${kind}-server.conf`), backendConf(kind, dir, ports[kind], user));
    }
    await buildRings(await swiftPython(bins.ringBuilder), dir, ports);

    const launch = (name: string, command: string, args: string[]) => {
      const log = join(dir, `${name}.log`);
      const fd = openSync(log, 'a');
      const proc = spawn(command, args, { cwd: dir, env: childEnv(), stdio: ['ignore', fd, fd] });
      closeSync(fd);
      const child: Child = { name, proc, log, exited: false };
      proc.once('exit', () => {
        child.exited = true;
      });
      proc.once('error', () => {
        child.exited = true;
      });
      children.push(child);
    };
    const memcachedArgs = ['-l', '127.0.0.1', '-p', String(ports.memcached), '-U', '0', '-m', '64'];
    if (process.getuid?.() === 0) memcachedArgs.push('-u', 'root');
    launch('memcached', bins.memcached, memcachedArgs);
    for (const kind of ['account', 'container', 'object', 'proxy'] as const) {
      launch(kind, bins[kind], [join(dir, `${kind}-server.conf`), '--verbose']);
    }

    // Wait until every process listens.
    const deadline = began + START_TIMEOUT_MS;
    const waitFor = async (name: string, port: number) => {
      for (;;) {
        const child = children.find((c) => c.name === name)!;
        if (child.exited)
          throw new Error(`${name} exited during start-up:\n${await tail(child.log)}`);
        if (await canConnect(port)) return;
        if (Date.now() > deadline)
          throw new Error(
            `${name} did not listen on port ${port} in time:\n${await tail(child.log)}`,
          );
        await sleep(50);
      }
    };
    await Promise.all([
      waitFor('memcached', ports.memcached),
      waitFor('account', ports.account),
      waitFor('container', ports.container),
      waitFor('object', ports.object),
      waitFor('proxy', ports.proxy),
    ]);

    const endpoint = `http://127.0.0.1:${ports.proxy}`;
    const accessKey = `${account}:${userName}`;
    const client = new S3Client({
      endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      maxAttempts: 1,
    });
    try {
      for (;;) {
        try {
          await client.send(new CreateBucketCommand({ Bucket: bucket }));
          break;
        } catch (e) {
          if (e instanceof S3ServiceException && e.name === 'BucketAlreadyOwnedByYou') break;
          if (Date.now() > deadline) {
            const logs = await Promise.all(
              children.map(async (c) => `--- ${c.name}\n${await tail(c.log, 15)}`),
            );
            throw new Error(
              `could not create bucket ${bucket}: ${(e as Error).message}\n${logs.join('\n')}`,
              { cause: e },
            );
          }
          await sleep(100);
        }
      }
    } finally {
      client.destroy();
    }
    if (process.env.SWIFT_TEST_VERBOSE) {
      console.log(`Swift S3 test server on ${endpoint} ready in ${Date.now() - began} ms (${dir})`);
    }
    return { endpoint, accessKey, secretKey, region: REGION, bucket, stop };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
