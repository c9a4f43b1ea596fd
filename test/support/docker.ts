/**
 * A Docker engine for the docker e2e suites, and the base images they build from.
 *
 * - `startDocker()` uses the engine that already answers (DOCKER_HOST or /var/run/docker.sock);
 *   when none does it starts a private `dockerd` (Debian's docker.io, as root) on its own socket,
 *   data root, exec root, pid file and empty daemon.json under a temporary folder, without
 *   iptables or a bridge (containers and builds use `--network host` or `none`), and `stop()`
 *   ends it and removes the folder. The docker CLI gets a private config folder (DOCKER_CONFIG),
 *   so `docker login` never touches the user's credentials.
 * - No registry is reachable: base images are imported from root filesystems made from this
 *   machine (`importBase`, see rootfs.ts).
 * - `trustCa()` puts a CA in /etc/docker/certs.d/<host>:<port>/ca.crt (the only place both the
 *   daemon and the CLI read registry CAs from) and returns a function that removes it again.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  openSync,
  readFileSync,
  readdirSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BUSYBOX, importChanges, withRootfsTar, type RootfsKind } from './rootfs.js';

const run = promisify(execFile);

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** What is missing to run the docker suites here, or undefined when nothing is. */
export function dockerMissing(): string | undefined {
  if (!onPath('docker')) return 'the docker CLI (apt-get install -y docker.io)';
  if (!onPath('dockerd')) return 'dockerd (apt-get install -y docker.io)';
  if (!BUSYBOX) return 'busybox for the base images (apt-get install -y busybox-static)';
  if (process.getuid?.() !== 0)
    return 'root (a private dockerd, and /etc/docker/certs.d for the test CA)';
  return undefined;
}

/** docker suites run where an engine can; in CI anything missing fails the run. */
export function describeIfDocker(): boolean {
  const missing = dockerMissing();
  if (!missing) return true;
  if (process.env.CI === 'true') throw new Error(`the docker suites need ${missing} in CI`);
  console.warn(`skipping the docker tests: they need ${missing}`);
  return false;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws for a non-zero exit (the result says what happened). */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    // A command that exits before reading its input (umount) must not fail the caller with
    // EPIPE: its exit code and output say what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
  });
}

export interface DockerEngine {
  /** Environment for the docker CLI: DOCKER_HOST, a private DOCKER_CONFIG, the classic builder. */
  env: NodeJS.ProcessEnv;
  /** Runs `docker …`; throws with its output when it fails. */
  docker(...args: string[]): Promise<string>;
  /** Runs `docker …` (stdin `input`) and returns the result, failed or not. */
  tryDocker(args: string[], input?: string): Promise<CommandResult>;
  /** True when this suite started the daemon (and will stop it). */
  private: boolean;
  stop(): Promise<void>;
}

async function engineAnswers(env: NodeJS.ProcessEnv): Promise<boolean> {
  const r = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], {
    env,
    timeoutMs: 15_000,
  }).catch(() => undefined);
  return r?.code === 0;
}

export async function startDocker(): Promise<DockerEngine> {
  const base = mkdtempSync(join(tmpdir(), 'aerugo-docker-'));
  const cliConfig = join(base, 'cli');
  mkdirSync(cliConfig);
  // The classic builder: BuildKit would need the buildx plugin in newer CLIs.
  const cliEnv = { ...process.env, DOCKER_CONFIG: cliConfig, DOCKER_BUILDKIT: '0' };
  let daemon: ChildProcess | undefined;
  let env: NodeJS.ProcessEnv = cliEnv;
  // dockerd 20.10 writes its identity key to /etc/docker/key.json whatever its other folders.
  const trustKey = '/etc/docker/key.json';
  let createdTrustKey = false;
  if (!(await engineAnswers(cliEnv))) {
    createdTrustKey = !existsSync(trustKey);
    const socket = join(base, 'docker.sock');
    writeFileSync(join(base, 'daemon.json'), '{}');
    const log = openSync(join(base, 'dockerd.log'), 'a');
    daemon = spawn(
      onPath('dockerd')!,
      [
        '--iptables=false',
        '--ip6tables=false',
        '--bridge=none',
        '-H',
        `unix://${socket}`,
        '--data-root',
        join(base, 'data'),
        '--exec-root',
        join(base, 'exec'),
        '--pidfile',
        join(base, 'dockerd.pid'),
        '--config-file',
        join(base, 'daemon.json'),
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    env = { ...cliEnv, DOCKER_HOST: `unix://${socket}` };
    const deadline = Date.now() + 60_000;
    while (!(await engineAnswers(env))) {
      if (daemon.exitCode !== null || Date.now() > deadline) {
        daemon.kill('SIGKILL');
        const out = await run('tail', ['-n', '30', join(base, 'dockerd.log')]).catch(() => ({
          stdout: '',
        }));
        throw new Error(`dockerd did not start:\n${out.stdout}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const tryDocker = (args: string[], input?: string) => runCommand('docker', args, { env, input });
  const started = daemon;
  return {
    env,
    private: started !== undefined,
    tryDocker,
    async docker(...args: string[]) {
      const r = await tryDocker(args);
      if (r.code !== 0)
        throw new Error(`docker ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    async stop() {
      if (started && started.exitCode === null) {
        const exited = new Promise((r) => started.once('exit', r));
        started.kill('SIGTERM');
        const timer = setTimeout(() => started.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      if (started) await unmountUnder(base);
      if (createdTrustKey) rmSync(trustKey, { force: true });
      rmSync(base, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** Unmounts what dockerd left mounted under `dir` (its network namespace file, at least). */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m?.startsWith(`${dir}/`))
    .reverse();
  for (const m of mounts) await runCommand('umount', [m]).catch(() => undefined);
}

/** Trusts `caFile` for the registry at host:port (daemon and CLI); returns the undo. */
export function trustCa(hostPort: string, caFile: string): () => void {
  const certsD = '/etc/docker/certs.d';
  const created = !existsSync(certsD);
  const dir = join(certsD, hostPort);
  mkdirSync(dir, { recursive: true });
  copyFileSync(caFile, join(dir, 'ca.crt'));
  return () => {
    rmSync(dir, { recursive: true, force: true });
    if (created && readdirSync(certsD).length === 0) rmSync(certsD, { recursive: true });
  };
}

/** Imports the `kind` root filesystem (test/support/rootfs.ts) into the engine as `tag`. */
export async function importBase(
  engine: DockerEngine,
  kind: RootfsKind,
  tag: string,
): Promise<void> {
  await withRootfsTar(kind, (tar) =>
    engine.docker('import', ...importChanges(kind).flatMap((c) => ['--change', c]), tar, tag),
  );
}

/** Builds `dockerfile` with `files` as its context (host network, classic builder); returns the output. */
export async function buildImage(
  engine: DockerEngine,
  tag: string,
  dockerfile: string,
  files: Record<string, string | Buffer> = {},
): Promise<string> {
  const ctx = mkdtempSync(join(tmpdir(), 'aerugo-ctx-'));
  try {
    writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
    for (const [name, content] of Object.entries(files)) writeFileSync(join(ctx, name), content);
    return await engine.docker('build', '--network', 'host', '-t', tag, ctx);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Waits until the container's HEALTHCHECK reports healthy; throws with its logs otherwise. */
export async function waitHealthy(
  engine: DockerEngine,
  id: string,
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (
      await engine.docker('inspect', '-f', '{{.State.Status}} {{.State.Health.Status}}', id)
    ).trim();
    if (state === 'running healthy') return;
    if (!state.startsWith('running') || state.endsWith('unhealthy') || Date.now() > deadline) {
      const logs = await engine.tryDocker(['logs', '--tail', '60', id]);
      throw new Error(`container ${id} is "${state}":\n${logs.stdout}${logs.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
