import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { CliError, EXIT, usageError } from './errors.js';

/** One server the CLI has signed in to. */
export interface Context {
  /** Base URL of the server (`https://registry.example.com`). */
  server: string;
  username?: string;
  /** A session: its rotating refresh token, and the last access token with its expiry. */
  refreshToken?: string;
  accessToken?: string;
  accessTokenExpiresAt?: string;
  /** Or an API key (`aerugo login --api-key-stdin`). */
  apiKey?: string;
}

export interface ConfigFile {
  /** The context commands use unless --context or AERUGO_CONTEXT names another. */
  current?: string;
  contexts: Record<string, Context>;
}

/**
 * `$XDG_CONFIG_HOME/aerugo`, or `~/.config/aerugo`. A relative XDG_CONFIG_HOME is ignored, as the
 * XDG Base Directory specification asks.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'aerugo');
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\./.test(h);
}

/**
 * The base URL of a server as typed by a user: `registry.example.com` → `https://…`,
 * `localhost:8080` → `http://localhost:8080` (loopback speaks plain HTTP, as docker assumes for
 * local registries), a trailing `/` or `/api/v1` dropped.
 */
export function normalizeServer(input: string): string {
  const raw = input.trim();
  if (!raw) throw usageError('the server URL is empty');
  let withScheme = raw;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    const host = raw.split('/')[0];
    let hostname = host;
    try {
      hostname = new URL(`http://${host}`).hostname;
    } catch {
      // reported below
    }
    withScheme = `${isLoopback(hostname) ? 'http' : 'https'}://${raw}`;
  }
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw usageError(`"${input}" is not a server URL (e.g. https://registry.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`"${input}": the server URL must start with http:// or https://`);
  if (url.username || url.password)
    throw usageError('the server URL must not hold credentials: use aerugo login');
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${url.origin}${path}`;
}

/** The default name of a server's context: its host and port (`localhost:8080`). */
export function contextNameFor(server: string): string {
  return new URL(server).host;
}

export function sameServer(a: string, b: string): boolean {
  try {
    return normalizeServer(a) === normalizeServer(b);
  } catch {
    return false;
  }
}

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

/**
 * The configuration file, `config.json` (mode 0600) in its folder (mode 0700). Every change is
 * made under a lock file and written atomically (temporary file, then rename), so that CLI
 * processes running at once — a CI job's parallel steps — never lose each other's changes nor
 * use one rotating refresh token twice (which would end the session).
 */
export class ConfigStore {
  readonly path: string;

  constructor(readonly dir: string = configDir()) {
    this.path = join(dir, 'config.json');
  }

  load(): ConfigFile {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if (errno(e) === 'ENOENT') return { contexts: {} };
      throw new CliError(`cannot read ${this.path}: ${(e as Error).message}`, EXIT.other);
    }
    this.tighten();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliError(`${this.path} is not valid JSON: fix it or remove it`, EXIT.other);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new CliError(`${this.path} is not an aerugo configuration file`, EXIT.other);
    const cfg = parsed as Partial<ConfigFile>;
    const contexts: Record<string, Context> = {};
    if (cfg.contexts && typeof cfg.contexts === 'object') {
      for (const [name, c] of Object.entries(cfg.contexts)) {
        if (c && typeof c === 'object' && typeof (c as Context).server === 'string')
          contexts[name] = c as Context;
      }
    }
    return { ...(typeof cfg.current === 'string' ? { current: cfg.current } : {}), contexts };
  }

  /** Makes sure a file written by an older version or by hand is not readable by others. */
  private tighten(): void {
    try {
      if ((statSync(this.path).mode & 0o077) !== 0) chmodSync(this.path, 0o600);
    } catch {
      // best effort: the next write sets the mode anyway
    }
  }

  private ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
  }

  save(cfg: ConfigFile): void {
    this.ensureDir();
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(cfg, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }

  /** Runs `change` on the current file under the lock, then saves what it left. */
  async update<T>(change: (cfg: ConfigFile) => Promise<T> | T): Promise<T> {
    const release = await this.lock();
    try {
      const cfg = this.load();
      const result = await change(cfg);
      this.save(cfg);
      return result;
    } finally {
      release();
    }
  }

  private async lock(): Promise<() => void> {
    this.ensureDir();
    const lockPath = `${this.path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        closeSync(openSync(lockPath, 'wx', 0o600));
        return () => {
          try {
            unlinkSync(lockPath);
          } catch {
            // already gone
          }
        };
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw e;
      }
      try {
        // A lock left by a process that died is taken over once it is clearly stale.
        if (Date.now() - statSync(lockPath).mtimeMs > LOCK_STALE_MS) unlinkSync(lockPath);
      } catch {
        // gone meanwhile: try again
      }
      if (Date.now() > deadline)
        throw new CliError(
          `${lockPath} is held by another aerugo process; remove it if none is running`,
          EXIT.other,
        );
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
