import type { Command } from 'commander';
import { Api, type Schemas, type Target } from '../api.js';
import { type Context, contextNameFor, normalizeServer, sameServer } from '../config.js';
import { apiError, CliError, EXIT, usageError } from '../errors.js';
import { collectPages } from '../paging.js';
import { interactive, promptLine, promptSecret, readStdin, secretFrom } from '../prompt.js';
import { Runtime } from '../runtime.js';
import { withSpinner } from '../spinner.js';

interface LoginOptions {
  username?: string;
  passwordStdin?: boolean;
  apiKeyStdin?: boolean;
}

/** Ends a session on its server; false when the server did not take it (already ended…). */
async function endSession(rt: Runtime, server: string, refreshToken: string): Promise<boolean> {
  const api = rt.client({ server, auth: { kind: 'none' } });
  const { response } = await api.anonymous.POST('/api/v1/auth/logout', { body: { refreshToken } });
  return response.ok;
}

async function login(server: string | undefined, opts: LoginOptions, cmd: Command) {
  const rt = Runtime.of(cmd);
  if (opts.passwordStdin && opts.apiKeyStdin)
    throw usageError('--password-stdin and --api-key-stdin exclude each other');
  const cfg = rt.store.load();
  const named = rt.opts.context;
  const current = named ?? cfg.current;
  const base = server
    ? normalizeServer(server)
    : rt.env.AERUGO_SERVER
      ? normalizeServer(rt.env.AERUGO_SERVER)
      : current && cfg.contexts[current]
        ? cfg.contexts[current].server
        : undefined;
  if (!base) throw usageError('name the server: aerugo login SERVER -u USER');
  const name = named ?? contextNameFor(base);
  const previous = cfg.contexts[name];
  const api = rt.client({ server: base, auth: { kind: 'none' } });

  let context: Context;
  if (opts.apiKeyStdin) {
    const key = secretFrom(await readStdin(), 'API key');
    const keyed = new Api(
      { server: base, auth: { kind: 'api-key', key, from: 'context' } },
      rt.store,
      rt.out,
      rt.userAgent,
    );
    const { data, error, response } = await keyed.client.GET('/api/v1/auth/me');
    if (!data) throw apiError(response.status, error, response.statusText);
    if (opts.username && opts.username.toLowerCase() !== data.username)
      throw new CliError(
        `the API key belongs to "${data.username}", not "${opts.username}"`,
        EXIT.auth,
      );
    context = { server: base, username: data.username, apiKey: key };
  } else {
    let username =
      opts.username ??
      (previous && sameServer(previous.server, base) ? previous.username : undefined);
    if (!opts.username && !interactive() && !username)
      throw usageError('name the user: aerugo login SERVER -u USER');
    if (!opts.username && interactive())
      username = (await promptLine(`Username${username ? ` (${username})` : ''}: `)) || username;
    if (!username) throw usageError('no user name');
    const password = opts.passwordStdin
      ? secretFrom(await readStdin(), 'password')
      : await promptSecret(`Password for ${username}: `, '--password-stdin');
    const { data, error, response } = await api.anonymous.POST('/api/v1/auth/login', {
      body: { username, password },
    });
    if (!data) throw apiError(response.status, error, response.statusText);
    const signedIn = new Api(
      { server: base, auth: { kind: 'token', token: data.accessToken } },
      rt.store,
      rt.out,
      rt.userAgent,
    );
    const me = await signedIn.call(signedIn.client.GET('/api/v1/auth/me'));
    context = {
      server: base,
      username: me.username,
      refreshToken: data.refreshToken,
      accessToken: data.accessToken,
      accessTokenExpiresAt: new Date(Date.now() + data.expiresIn * 1000).toISOString(),
    };
  }
  // The context's earlier session (if any) ends: one sign-in per context.
  const replaced = await rt.store.update((file) => {
    const old = file.contexts[name];
    file.contexts[name] = context;
    file.current = name;
    return old;
  });
  // (Its refresh token goes to the server that issued it, whichever that was.)
  if (replaced?.refreshToken)
    await endSession(rt, replaced.server, replaced.refreshToken).catch(() => false);
  if (rt.out.json)
    rt.out.data({
      server: base,
      context: name,
      username: context.username,
      auth: context.apiKey ? 'api-key' : 'session',
    });
  else
    rt.out.line(
      `Logged in to ${base} as ${context.username}${context.apiKey ? ' (API key)' : ''}; context "${name}".`,
    );
}

async function logout(opts: { all?: boolean }, cmd: Command) {
  const rt = Runtime.of(cmd);
  const cfg = rt.store.load();
  const names = opts.all
    ? Object.keys(cfg.contexts)
    : [rt.opts.context ?? rt.env.AERUGO_CONTEXT ?? cfg.current].filter((n): n is string => !!n);
  if (!names.length || names.some((n) => !cfg.contexts[n]))
    throw usageError(
      names.length ? `no context "${names.find((n) => !cfg.contexts[n])}"` : 'not logged in',
    );
  const results: { context: string; server: string; sessionEnded: boolean }[] = [];
  const problems: string[] = [];
  let unreachable = false;
  for (const name of names) {
    const c = cfg.contexts[name];
    let ended = false;
    if (c.refreshToken) {
      try {
        ended = await endSession(rt, c.server, c.refreshToken);
        if (!ended) problems.push(`${c.server}: the session had already ended`);
      } catch (e) {
        // The server could not be asked (network): the session may still be live there.
        problems.push((e as Error).message);
        unreachable = true;
      }
    }
    // Forgotten locally whatever the server said: the context keeps its server and user name.
    await rt.store.update((file) => {
      const k = file.contexts[name];
      if (!k) return;
      delete k.refreshToken;
      delete k.accessToken;
      delete k.accessTokenExpiresAt;
      delete k.apiKey;
    });
    results.push({ context: name, server: c.server, sessionEnded: ended });
  }
  if (rt.out.json) rt.out.data(opts.all ? results : results[0]);
  else
    for (const r of results)
      rt.out.line(
        `Logged out of ${r.server} (context "${r.context}")${r.sessionEnded ? '; the session is ended' : ''}.`,
      );
  for (const p of problems) rt.out.warn(p);
  if (unreachable)
    throw new CliError(
      'the credentials are forgotten here, but the server could not end the session',
      EXIT.other,
    );
}

async function whoami(_opts: unknown, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  if (api.target.auth.kind === 'none')
    throw new CliError(`not logged in to ${api.target.server} (run \`aerugo login\`)`, EXIT.auth);
  const me = await api.call(api.client.GET('/api/v1/auth/me'));
  if (rt.out.json) rt.out.data(me);
  else rt.out.line(me.username);
}

function authLabel(t: Target): string {
  switch (t.auth.kind) {
    case 'session':
      return 'session';
    case 'api-key':
      return t.auth.from === 'env' ? 'API key (AERUGO_API_KEY)' : 'API key';
    case 'token':
      return 'access token (AERUGO_TOKEN)';
    default:
      return 'anonymous';
  }
}

async function status(_opts: unknown, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const t = api.target;
  const result = await withSpinner(rt.out, 'Asking the server', async () => {
    const h = await api.anonymous.GET('/api/v1/health');
    const health: Schemas['HealthReportDto'] | null =
      h.data ?? (h.error && typeof h.error === 'object' && 'status' in h.error ? h.error : null);
    let user: Schemas['UserDto'] | null = null;
    let organizations: { name: string; role: string | null }[] = [];
    let refused: CliError | null = null;
    if (t.auth.kind !== 'none') {
      try {
        user = await api.call(api.client.GET('/api/v1/auth/me'));
      } catch (e) {
        if (!(e instanceof CliError) || e.exitCode !== EXIT.auth) throw e;
        refused = e;
      }
      if (user && !user.isAdmin) {
        const orgs = await collectPages(
          (page, perPage) =>
            api.call(api.client.GET('/api/v1/orgs', { params: { query: { page, perPage } } })),
          0,
        );
        organizations = orgs.items.map((o) => ({ name: o.name, role: o.role ?? null }));
      }
    }
    return { health, healthStatus: h.response.status, user, organizations, refused };
  });
  const { health, user, organizations, refused } = result;
  const roles = user
    ? { systemAdministrator: !!user.isAdmin, organizations: user.isAdmin ? null : organizations }
    : null;
  if (rt.out.json) {
    rt.out.data({
      server: t.server,
      context: t.contextName ?? null,
      auth: t.auth.kind,
      health,
      user,
      roles,
    });
  } else {
    const c = rt.out.c;
    const healthText = health
      ? `${health.status === 'ok' ? c.green('ok') : health.status === 'degraded' ? c.yellow('degraded') : c.red(health.status)} (database ${health.database}, storage ${health.storage}, cache ${health.cache.backend} ${health.cache.status})`
      : c.red(`no health report (HTTP ${result.healthStatus})`);
    const roleText = !user
      ? '-'
      : user.isAdmin
        ? 'system administrator'
        : organizations.length
          ? organizations.map((o) => `${o.name}: ${o.role ?? 'member'}`).join(', ')
          : 'user (no organization)';
    rt.out.fields([
      ['Server', t.server],
      ['Context', t.contextName ?? '-'],
      ['Health', healthText],
      [
        'User',
        user
          ? `${user.username} (${authLabel(t)})`
          : refused
            ? c.red(`credentials refused: ${refused.message}`)
            : 'not logged in',
      ],
      ['Roles', roleText],
    ]);
  }
  if (!health || health.status === 'down')
    throw new CliError(`the server at ${t.server} reports that it is down`, EXIT.other);
  if (refused) throw refused;
}

async function contextList(_opts: unknown, cmd: Command) {
  const rt = Runtime.of(cmd);
  const cfg = rt.store.load();
  const rows = Object.entries(cfg.contexts)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, c]) => ({
      name,
      current: name === cfg.current,
      server: c.server,
      username: c.username ?? null,
      auth: c.apiKey ? 'api-key' : c.refreshToken ? 'session' : 'none',
    }));
  if (rt.out.json) return rt.out.data(rows);
  rt.out.table(
    ['CURRENT', 'NAME', 'SERVER', 'USER', 'AUTH'],
    rows.map((r) => [r.current ? '*' : '', r.name, r.server, r.username ?? '-', r.auth]),
    'No contexts: aerugo login SERVER -u USER creates one.',
  );
}

async function contextUse(name: string, _opts: unknown, cmd: Command) {
  const rt = Runtime.of(cmd);
  await rt.store.update((cfg) => {
    if (!cfg.contexts[name])
      throw usageError(`no context "${name}" (aerugo context ls lists them)`);
    cfg.current = name;
  });
  if (rt.out.json) rt.out.data({ current: name });
  else rt.out.line(`Using context "${name}".`);
}

async function contextRemove(name: string, _opts: unknown, cmd: Command) {
  const rt = Runtime.of(cmd);
  const removed = await rt.store.update((cfg) => {
    const c = cfg.contexts[name];
    if (!c) throw usageError(`no context "${name}" (aerugo context ls lists them)`);
    delete cfg.contexts[name];
    if (cfg.current === name) delete cfg.current;
    return c;
  });
  let ended = false;
  if (removed.refreshToken) {
    ended = await endSession(rt, removed.server, removed.refreshToken).catch(() => false);
    if (!ended) rt.out.warn(`the session on ${removed.server} could not be ended`);
  }
  if (rt.out.json) rt.out.data({ context: name, removed: true, sessionEnded: ended });
  else rt.out.line(`Removed context "${name}".`);
}

export function registerAuth(program: Command): void {
  program
    .command('login')
    .description('Sign in to a server and store its session (or an API key) as a context')
    .argument('[server]', 'server URL (http://localhost:8080, registry.example.com)')
    .option('-u, --username <user>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .option(
      '--api-key-stdin',
      'read an API key from standard input and store it instead of a session',
    )
    .addHelpText(
      'after',
      "\nThe password is never stored: the context keeps the refresh token of the session (or the\nAPI key). --context NAME names the context (default: the server's host:port).",
    )
    .action(login);

  program
    .command('logout')
    .description("End the current context's session on the server and forget its credentials")
    .option('--all', 'log out of every context')
    .action(logout);

  program.command('whoami').description('Print the signed-in user name').action(whoami);

  program
    .command('status')
    .description('Show the server, its health, the signed-in user and their roles')
    .action(status);

  const context = program
    .command('context')
    .description('Named contexts: one per server signed in to');
  context.command('ls').description('List contexts').action(contextList);
  context
    .command('use')
    .description('Make a context the current one')
    .argument('<name>', 'context name')
    .action(contextUse);
  context
    .command('rm')
    .description('Forget a context (its session is ended on the server)')
    .argument('<name>', 'context name')
    .action(contextRemove);
}
