import type { Command } from 'commander';
import { sameServer } from '../config.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { formatAge, formatDate } from '../output.js';
import { collectPages, truncationNote } from '../paging.js';
import { confirmByName, interactive, promptSecret, readStdin, secretFrom } from '../prompt.js';
import { Runtime } from '../runtime.js';
import { withSpinner } from '../spinner.js';
import { limitOption } from './repos.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `--expires`: an ISO 8601 date or time (2027-01-31, 2027-01-31T12:00:00Z), or a lifetime from
 * now (90d, 12h, 30m). Returns the ISO time.
 */
export function parseExpiry(value: string, now = Date.now()): string {
  const v = value.trim();
  const rel = /^(\d+)\s*([dhm])$/i.exec(v);
  if (rel) {
    const n = Number(rel[1]);
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[
      rel[2].toLowerCase() as 'd' | 'h' | 'm'
    ];
    if (n <= 0) throw usageError('--expires must be in the future');
    return new Date(now + n * unit).toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v))
    throw usageError(
      `--expires takes a date (2027-01-31) or a lifetime (90d, 12h), not "${value}"`,
    );
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw usageError(`--expires: "${value}" is not a date`);
  if (t <= now) throw usageError('--expires must be in the future');
  return new Date(t).toISOString();
}

/** A new password: from stdin, or typed twice at the terminal. */
async function newPassword(fromStdin: boolean, who: string): Promise<string> {
  if (fromStdin) return secretFrom(await readStdin(), 'password');
  const first = await promptSecret(`New password for ${who}: `, '--password-stdin');
  if (interactive()) {
    const again = await promptSecret('Again: ', '--password-stdin');
    if (again !== first) throw usageError('the passwords differ; nothing was changed');
  }
  return first;
}

export function registerAccount(program: Command): void {
  const apikey = program
    .command('apikey')
    .description('API keys: credentials for CI and registry clients (docker, skopeo)');
  apikey
    .command('create')
    .description('Create an API key; it is printed once, store it now')
    .argument('<name>', 'what the key is for (e.g. ci-pipeline)')
    .option('--expires <when>', 'a date (2027-01-31) or a lifetime (90d, 12h); never by default')
    .option(
      '--actions <list>',
      'comma-separated: pull, push, delete, api (management API); all of them by default',
    )
    .option(
      '--repositories <list>',
      'comma-separated repository names or patterns (acme/web/*); every repository by default',
    )
    .action(
      async (
        name: string,
        opts: { expires?: string; actions?: string; repositories?: string },
        cmd: Command,
      ) => {
        const rt = Runtime.of(cmd);
        const api = rt.client();
        const expiresAt = opts.expires ? parseExpiry(opts.expires) : undefined;
        const list = (s: string | undefined) =>
          s === undefined
            ? undefined
            : s
                .split(',')
                .map((x) => x.trim())
                .filter(Boolean);
        const actions = list(opts.actions) as ('pull' | 'push' | 'delete' | 'api')[] | undefined;
        const repositories = list(opts.repositories);
        const key = await api.call(
          api.client.POST('/api/v1/api-keys', {
            body: {
              name,
              ...(expiresAt ? { expiresAt } : {}),
              ...(actions ? { actions } : {}),
              ...(repositories ? { repositories } : {}),
            },
          }),
        );
        if (rt.out.json) return rt.out.data(key);
        // The key alone on stdout, so that KEY=$(aerugo apikey create ci) captures just it.
        rt.out.line(key.key);
        rt.out.note(
          `API key "${key.name}" (${key.id}) created${key.expiresAt ? `, valid until ${formatDate(key.expiresAt)}` : ''}. It is shown only now.`,
        );
      },
    );
  apikey
    .command('ls')
    .description('List your API keys (never their secrets)')
    .action(async (_opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const keys = await api.call(api.client.GET('/api/v1/api-keys'));
      if (rt.out.json) return rt.out.data(keys);
      rt.out.table(
        ['ID', 'NAME', 'PREFIX', 'SCOPE', 'CREATED', 'EXPIRES', 'LAST USED'],
        keys.map((k) => [
          k.id,
          k.name,
          k.prefix,
          `${k.actions.join(',')}${k.repositories ? ` on ${k.repositories.join(',')}` : ''}`,
          formatAge(k.createdAt),
          k.expiresAt ? formatDate(k.expiresAt) : 'never',
          k.lastUsedAt ? formatAge(k.lastUsedAt) : 'never',
        ]),
        'No API keys.',
      );
    });
  apikey
    .command('revoke')
    .alias('rm')
    .description('Revoke an API key at once (by id, or by name when the name is unique)')
    .argument('<key>', 'id or name')
    .action(async (which: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      let id = which;
      let name: string | undefined;
      if (!UUID.test(which)) {
        const keys = await api.call(api.client.GET('/api/v1/api-keys'));
        const matches = keys.filter((k) => k.name === which);
        if (matches.length > 1)
          throw usageError(
            `${matches.length} API keys are named "${which}": name one by id (${matches.map((k) => k.id).join(', ')})`,
          );
        if (!matches.length)
          throw new CliError(`no API key named "${which}"`, EXIT.notFound, { code: 'NOT_FOUND' });
        id = matches[0].id;
        name = matches[0].name;
      }
      await api.done(api.client.DELETE('/api/v1/api-keys/{id}', { params: { path: { id } } }));
      if (rt.out.json) return rt.out.data({ id, ...(name ? { name } : {}), revoked: true });
      rt.out.line(`Revoked API key ${name ? `"${name}" (${id})` : id}.`);
    });

  const session = program
    .command('session')
    .description('Your sessions: where you are signed in (aerugo, docker login, …)');
  session
    .command('ls')
    .description('List your live sessions, most recently used first')
    .addOption(limitOption())
    .action(async (opts: { limit: number }, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const { items, total } = await withSpinner(rt.out, 'Listing sessions', () =>
        collectPages(
          (page, perPage) =>
            api.call(
              api.client.GET('/api/v1/auth/sessions', { params: { query: { page, perPage } } }),
            ),
          opts.limit,
        ),
      );
      if (rt.out.json) return rt.out.data(items);
      rt.out.table(
        ['ID', 'KIND', 'CLIENT', 'ADDRESS', 'SIGNED IN', 'LAST USED', ''],
        items.map((s) => [
          s.id,
          s.kind,
          s.userAgent
            ? s.userAgent.length > 40
              ? `${s.userAgent.slice(0, 39)}…`
              : s.userAgent
            : '-',
          s.clientAddress ?? '-',
          formatAge(s.createdAt),
          s.lastUsedAt ? formatAge(s.lastUsedAt) : '-',
          s.current ? '(this one)' : '',
        ]),
        'No sessions.',
      );
      const note = truncationNote(items.length, total);
      if (note) rt.out.note(note);
    });
  session
    .command('revoke')
    .alias('rm')
    .description('End sessions at once, on every node (their tokens stop working)')
    .argument('<ids...>', 'session ids (aerugo session ls)')
    .action(async (ids: string[], _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      for (const id of ids) if (!UUID.test(id)) throw usageError(`"${id}" is not a session id`);
      // Ending the CLI's own session logs this context out: know which one it is first.
      let own: string | undefined;
      if (api.target.auth.kind === 'session') {
        const list = await collectPages(
          (page, perPage) =>
            api.call(
              api.client.GET('/api/v1/auth/sessions', { params: { query: { page, perPage } } }),
            ),
          0,
        );
        own = list.items.find((s) => s.current)?.id;
      }
      const ended: string[] = [];
      for (const id of ids) {
        await api.done(
          api.client.DELETE('/api/v1/auth/sessions/{id}', { params: { path: { id } } }),
        );
        ended.push(id);
        rt.out.done(`Ended session ${id}.`);
      }
      if (own && ended.includes(own) && api.target.contextName) {
        const name = api.target.contextName;
        const server = api.target.server;
        await rt.store.update((cfg) => {
          const c = cfg.contexts[name];
          if (!c || !sameServer(c.server, server)) return;
          delete c.refreshToken;
          delete c.accessToken;
          delete c.accessTokenExpiresAt;
        });
        rt.out.note(`That was this context's own session: you are logged out of ${server}.`);
      }
      if (rt.out.json) rt.out.data(ended.map((id) => ({ id, ended: true })));
    });

  const admin = program.command('admin').description('System administration');
  const user = admin.command('user').description('User accounts (system administrators)');
  user
    .command('ls')
    .description('List users')
    .option('-q, --query <text>', 'only names containing text')
    .addOption(limitOption())
    .action(async (opts: { query?: string; limit: number }, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const { items, total } = await withSpinner(rt.out, 'Listing users', () =>
        collectPages(
          (page, perPage) =>
            api.call(
              api.client.GET('/api/v1/users', {
                params: { query: { page, perPage, ...(opts.query ? { q: opts.query } : {}) } },
              }),
            ),
          opts.limit,
        ),
      );
      if (rt.out.json) return rt.out.data(items);
      rt.out.table(
        ['USER', 'DISPLAY NAME', 'EMAIL', 'ADMIN', 'ACTIVE', 'CREATED'],
        items.map((u) => [
          u.username,
          u.displayName ?? '-',
          u.email ?? '-',
          u.isAdmin === undefined ? '-' : u.isAdmin ? 'yes' : 'no',
          u.active === undefined ? '-' : u.active ? 'yes' : 'no',
          formatDate(u.createdAt),
        ]),
        'No users.',
      );
      const note = truncationNote(items.length, total);
      if (note) rt.out.note(note);
    });
  user
    .command('create')
    .description('Create a user (password from a prompt or --password-stdin)')
    .argument('<user>', 'user name (also their namespace)')
    .option('--email <address>', 'e-mail address')
    .option('--display-name <text>', 'display name')
    .option('--admin', 'make them a system administrator')
    .option('--password-stdin', 'read the password from standard input')
    .action(
      async (
        username: string,
        opts: { email?: string; displayName?: string; admin?: boolean; passwordStdin?: boolean },
        cmd: Command,
      ) => {
        const rt = Runtime.of(cmd);
        const api = rt.client();
        const password = await newPassword(!!opts.passwordStdin, username);
        const created = await api.call(
          api.client.POST('/api/v1/users', {
            body: {
              username: username.toLowerCase(),
              password,
              ...(opts.email ? { email: opts.email } : {}),
              ...(opts.displayName ? { displayName: opts.displayName } : {}),
              ...(opts.admin ? { isAdmin: true } : {}),
            },
          }),
        );
        if (rt.out.json) return rt.out.data(created);
        rt.out.line(
          `Created user ${created.username}${created.isAdmin ? ' (system administrator)' : ''}.`,
        );
      },
    );

  const change = (
    verb: string,
    description: string,
    body: { active?: boolean; isAdmin?: boolean },
    said: (u: string) => string,
  ) =>
    user
      .command(verb)
      .description(description)
      .argument('<user>', 'user name')
      .action(async (username: string, _opts: unknown, cmd: Command) => {
        const rt = Runtime.of(cmd);
        const api = rt.client();
        const updated = await api.call(
          api.client.PATCH('/api/v1/users/{username}', {
            params: { path: { username } },
            body,
          }),
        );
        if (rt.out.json) return rt.out.data(updated);
        rt.out.line(said(updated.username));
      });
  change(
    'disable',
    'Deactivate a user: sign-ins, sessions and API keys stop working',
    { active: false },
    (u) => `Disabled ${u}.`,
  );
  change('enable', 'Reactivate a user', { active: true }, (u) => `Enabled ${u}.`);
  change(
    'promote',
    'Make a user a system administrator',
    { isAdmin: true },
    (u) => `${u} is now a system administrator.`,
  );
  change(
    'demote',
    'Take system administration away from a user',
    { isAdmin: false },
    (u) => `${u} is no longer a system administrator.`,
  );

  user
    .command('reset-password')
    .description("Set a user's password (ends their sessions)")
    .argument('<user>', 'user name')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (username: string, opts: { passwordStdin?: boolean }, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const password = await newPassword(!!opts.passwordStdin, username);
      const updated = await api.call(
        api.client.PATCH('/api/v1/users/{username}', {
          params: { path: { username } },
          body: { password },
        }),
      );
      if (rt.out.json) return rt.out.data(updated);
      rt.out.line(`Password of ${updated.username} reset; their sessions are ended.`);
    });
  user
    .command('rm')
    .alias('delete')
    .description('Delete a user (they must hold no repositories)')
    .argument('<user>', 'user name')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (username: string, opts: { yes?: boolean }, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const name = username.toLowerCase();
      await confirmByName(`Deleting user ${name}`, name, !!opts.yes);
      await api.done(
        api.client.DELETE('/api/v1/users/{username}', { params: { path: { username: name } } }),
      );
      if (rt.out.json) return rt.out.data({ username: name, deleted: true });
      rt.out.line(`Deleted user ${name}.`);
    });
}
