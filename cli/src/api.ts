import createClient, { type Client } from 'openapi-fetch';
import {
  type ConfigFile,
  type ConfigStore,
  type Context,
  normalizeServer,
  sameServer,
} from './config.js';
import { apiError, CliError, EXIT, serverCode, serverMessage, usageError } from './errors.js';
import type { components, paths } from './generated/openapi.js';
import type { Output } from './output.js';
import { redactBody, redactHeader, redactUrl } from './redact.js';

/** The management API's schemas, as generated from api/openapi.json. */
export type Schemas = components['schemas'];
export type ApiClient = Client<paths>;

/** How requests are authenticated. */
export type Auth =
  | { kind: 'session' }
  | { kind: 'api-key'; key: string; from: 'env' | 'context' }
  | { kind: 'token'; token: string }
  | { kind: 'none' };

/** The server a command talks to, and with which credentials. */
export interface Target {
  server: string;
  contextName?: string;
  context?: Context;
  auth: Auth;
}

/**
 * Chooses the server and credentials: the context named by --context or AERUGO_CONTEXT, else the
 * current one; AERUGO_SERVER overrides its server, and AERUGO_API_KEY / AERUGO_TOKEN its
 * credentials. A context's credentials are only ever sent to that context's own server.
 */
export function resolveTarget(
  cfg: ConfigFile,
  opts: { context?: string },
  env: NodeJS.ProcessEnv,
  requireServer = true,
): Target | undefined {
  const explicit = opts.context ?? (env.AERUGO_CONTEXT || undefined);
  if (explicit && !cfg.contexts[explicit])
    throw usageError(`no context "${explicit}" (aerugo context ls lists them)`);
  const envServer = env.AERUGO_SERVER ? normalizeServer(env.AERUGO_SERVER) : undefined;
  let contextName = explicit ?? cfg.current;
  let context = contextName ? cfg.contexts[contextName] : undefined;
  if (envServer && !(context && sameServer(context.server, envServer))) {
    // AERUGO_SERVER names another server: use the context signed in to it, if there is one.
    const match = explicit
      ? undefined
      : Object.entries(cfg.contexts).find(([, c]) => sameServer(c.server, envServer));
    [contextName, context] = match ?? [undefined, undefined];
  }
  const server = envServer ?? (context ? normalizeServer(context.server) : undefined);
  if (!server) {
    if (!requireServer) return undefined;
    throw usageError('no server: run `aerugo login SERVER`, or set AERUGO_SERVER');
  }
  let auth: Auth = { kind: 'none' };
  if (env.AERUGO_API_KEY) auth = { kind: 'api-key', key: env.AERUGO_API_KEY, from: 'env' };
  else if (env.AERUGO_TOKEN) auth = { kind: 'token', token: env.AERUGO_TOKEN };
  else if (context?.apiKey) auth = { kind: 'api-key', key: context.apiKey, from: 'context' };
  else if (context?.refreshToken) auth = { kind: 'session' };
  return {
    server,
    ...(contextName && context ? { contextName, context } : {}),
    auth,
  };
}

/** The lifetime an access token (a JWT) was issued with, in ms; undefined when unreadable. */
function lifetimeOf(token: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as {
      iat?: unknown;
      exp?: unknown;
    };
    if (typeof claims.iat === 'number' && typeof claims.exp === 'number')
      return (claims.exp - claims.iat) * 1000;
  } catch {
    // not a JWT we can read: the default margin applies
  }
  return undefined;
}

/**
 * An access token is used until shortly before it expires (by the local clock, from the
 * `expiresIn` it came with): 5 s before, or a fifth of its lifetime when that is shorter.
 */
export function tokenUsable(c: Context, now = Date.now()): boolean {
  if (!c.accessToken || !c.accessTokenExpiresAt) return false;
  const expires = Date.parse(c.accessTokenExpiresAt);
  if (Number.isNaN(expires)) return false;
  const lifetime = lifetimeOf(c.accessToken);
  const margin = Math.min(5000, lifetime !== undefined ? lifetime / 5 : 5000);
  return expires - margin > now;
}

function withHeader(req: Request, name: string, value: string): Request {
  const headers = new Headers(req.headers);
  headers.set(name, value);
  return new Request(req, { headers });
}

function networkProblem(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return 'no answer in time';
  const code = err?.cause?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'unknown host',
    EAI_AGAIN: 'name resolution failed',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
  };
  if (code) return `${known[code] ?? err.cause?.message ?? code} (${code})`;
  return err?.cause?.message ?? err?.message ?? String(e);
}

const REQUEST_TIMEOUT_MS = 120_000;

/** The typed management API client of one command run: authentication, refresh, --verbose. */
export class Api {
  /** Authenticated with the target's credentials. */
  readonly client: ApiClient;
  /** Without credentials (sign-in, refresh). */
  readonly anonymous: ApiClient;

  constructor(
    readonly target: Target,
    private readonly store: ConfigStore,
    private readonly out: Output,
    private readonly userAgent: string,
  ) {
    this.client = createClient<paths>({ baseUrl: target.server, fetch: (r) => this.send(r) });
    this.anonymous = createClient<paths>({
      baseUrl: target.server,
      fetch: (r) => this.exchange(r),
    });
  }

  /** The data of a successful answer; a CliError (one line, exit code by class) otherwise. */
  async call<D>(pending: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
    const { data, error, response } = await pending;
    if (!response.ok) throw this.failure(response, error);
    return data as D;
  }

  /** For answers without a body (204). */
  async done(pending: Promise<{ error?: unknown; response: Response }>): Promise<void> {
    const { error, response } = await pending;
    if (!response.ok) throw this.failure(response, error);
  }

  failure(response: Response, body: unknown): CliError {
    const err = apiError(response.status, body, response.statusText);
    if (err.exitCode !== EXIT.auth) return err;
    const hint = {
      none: 'not logged in: run `aerugo login`',
      session: 'run `aerugo login` again',
      token: 'check AERUGO_TOKEN',
      'api-key':
        this.target.auth.kind === 'api-key' && this.target.auth.from === 'env'
          ? 'check AERUGO_API_KEY'
          : 'the stored API key was refused: run `aerugo login` again',
    }[this.target.auth.kind];
    return new CliError(`${err.message} (${hint})`, err.exitCode, err.details);
  }

  private async send(req: Request): Promise<Response> {
    const auth = this.target.auth;
    if (auth.kind === 'none') return this.exchange(req);
    if (auth.kind === 'api-key') return this.exchange(withHeader(req, 'x-api-key', auth.key));
    if (auth.kind === 'token')
      return this.exchange(withHeader(req, 'authorization', `Bearer ${auth.token}`));
    const retry = req.clone();
    const token = await this.sessionToken();
    const res = await this.exchange(withHeader(req, 'authorization', `Bearer ${token}`));
    if (res.status !== 401) return res;
    // Refused before its expiry (clocks differ, the server's signing key changed): refresh once.
    await res.body?.cancel();
    const fresh = await this.sessionToken(token);
    return this.exchange(withHeader(retry, 'authorization', `Bearer ${fresh}`));
  }

  /**
   * A usable access token of the context's session: the stored one while it lasts, else a new
   * one from the refresh token, which rotates. Runs under the configuration file's lock, so
   * concurrent CLI processes refresh once and share the result.
   */
  private async sessionToken(rejected?: string): Promise<string> {
    const known = this.target.context;
    if (!rejected && known && tokenUsable(known)) return known.accessToken!;
    const name = this.target.contextName!;
    const server = this.target.server;
    const outcome = await this.store.update(
      async (cfg): Promise<{ token: string } | { error: CliError }> => {
        const c = cfg.contexts[name];
        if (!c?.refreshToken || !sameServer(c.server, server))
          return {
            error: new CliError(`not logged in to ${server} (run \`aerugo login\`)`, EXIT.auth),
          };
        if (tokenUsable(c) && c.accessToken !== rejected) {
          this.target.context = c; // another aerugo process refreshed meanwhile
          return { token: c.accessToken! };
        }
        const { data, error, response } = await this.anonymous.POST('/api/v1/auth/refresh', {
          body: { refreshToken: c.refreshToken },
        });
        if (data) {
          c.accessToken = data.accessToken;
          c.refreshToken = data.refreshToken;
          c.accessTokenExpiresAt = new Date(Date.now() + data.expiresIn * 1000).toISOString();
          this.target.context = c;
          return { token: data.accessToken };
        }
        if (response.status === 401 || response.status === 400) {
          delete c.accessToken;
          delete c.accessTokenExpiresAt;
          delete c.refreshToken;
          const code = serverCode(error);
          return {
            error: new CliError(
              `your session on ${server} has ended: ${serverMessage(error, response.status)} (run \`aerugo login\`)`,
              EXIT.auth,
              { status: response.status, ...(code ? { code } : {}) },
            ),
          };
        }
        return { error: apiError(response.status, error, response.statusText) };
      },
    );
    if ('error' in outcome) throw outcome.error;
    return outcome.token;
  }

  /** One HTTP exchange, shown with --verbose (credentials replaced). */
  async exchange(req: Request): Promise<Response> {
    const request = withHeader(req, 'user-agent', this.userAgent);
    const verbose = this.out.verbose;
    const log = (line: string) => this.out.stderr.write(`${line}\n`);
    if (verbose) {
      log(`> ${request.method} ${redactUrl(request.url)}`);
      request.headers.forEach((v, k) => log(`> ${k}: ${redactHeader(k, v)}`));
      const body = await request.clone().text();
      if (body) log(`> ${redactBody(body, request.headers.get('content-type'))}`);
    }
    const started = Date.now();
    let res: Response;
    try {
      res = await fetch(request, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (e) {
      throw new CliError(`cannot reach ${this.target.server}: ${networkProblem(e)}`, EXIT.other);
    }
    if (verbose) {
      log(`< ${res.status} ${res.statusText} (${Date.now() - started} ms)`);
      res.headers.forEach((v, k) => log(`< ${k}: ${redactHeader(k, v)}`));
      const body = await res.clone().text();
      if (body) log(`< ${redactBody(body, res.headers.get('content-type'))}`);
    }
    return res;
  }
}
