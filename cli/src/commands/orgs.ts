import { Argument, type Command, Option } from 'commander';
import type { Api, Schemas } from '../api.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { parseRepoRef } from '../names.js';
import { formatAge, formatDate } from '../output.js';
import { collectPages, truncationNote } from '../paging.js';
import { confirmByName } from '../prompt.js';
import { Runtime } from '../runtime.js';
import { withSpinner } from '../spinner.js';
import { limitOption } from './repos.js';

type Role = 'owner' | 'admin' | 'member';
type Level = 'read' | 'write' | 'admin';
const ROLES: Role[] = ['owner', 'admin', 'member'];
const LEVELS: Level[] = ['read', 'write', 'admin'];

/** A part of a report the caller may not be allowed to read: null (and a note) when refused. */
async function ifAllowed<T>(rt: Runtime, what: string, read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (e) {
    if (e instanceof CliError && e.exitCode === EXIT.denied) {
      if (!rt.out.json) rt.out.note(`(${what} are visible to organization members only)`);
      return null;
    }
    throw e;
  }
}

function memberRows(members: Schemas['MemberDto'][]): string[][] {
  return members.map((m) => [
    m.user.username,
    m.role,
    m.user.displayName ?? '-',
    formatAge(m.since),
  ]);
}

const MEMBER_HEAD = ['USER', 'ROLE', 'DISPLAY NAME', 'SINCE'];

async function members(api: Api, org: string) {
  return api.call(api.client.GET('/api/v1/orgs/{org}/members', { params: { path: { org } } }));
}

async function teams(api: Api, org: string) {
  return api.call(api.client.GET('/api/v1/orgs/{org}/teams', { params: { path: { org } } }));
}

export function registerOrgs(program: Command): void {
  const org = program.command('org').description('Organizations, their members and roles');

  org
    .command('create')
    .description('Create an organization (you become its owner)')
    .argument('<name>', 'organization name (also its namespace)')
    .option('--display-name <text>', 'display name')
    .option('-d, --description <text>', 'description')
    .action(
      async (name: string, opts: { displayName?: string; description?: string }, cmd: Command) => {
        const rt = Runtime.of(cmd);
        const api = rt.client();
        const created = await api.call(
          api.client.POST('/api/v1/orgs', {
            body: {
              name: name.toLowerCase(),
              ...(opts.displayName !== undefined ? { displayName: opts.displayName } : {}),
              ...(opts.description !== undefined ? { description: opts.description } : {}),
            },
          }),
        );
        if (rt.out.json) return rt.out.data(created);
        rt.out.line(`Created organization ${created.name}.`);
      },
    );

  org
    .command('ls')
    .description('List your organizations with your role (all of them for a system administrator)')
    .option('-q, --query <text>', 'only names containing text')
    .addOption(limitOption())
    .action(async (opts: { query?: string; limit: number }, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const { items, total } = await withSpinner(rt.out, 'Listing organizations', () =>
        collectPages(
          (page, perPage) =>
            api.call(
              api.client.GET('/api/v1/orgs', {
                params: { query: { page, perPage, ...(opts.query ? { q: opts.query } : {}) } },
              }),
            ),
          opts.limit,
        ),
      );
      if (rt.out.json) return rt.out.data(items);
      rt.out.table(
        ['NAME', 'ROLE', 'DISPLAY NAME', 'CREATED'],
        items.map((o) => [o.name, o.role ?? '-', o.displayName ?? '-', formatDate(o.createdAt)]),
        'No organizations.',
      );
      const note = truncationNote(items.length, total);
      if (note) rt.out.note(note);
    });

  org
    .command('show')
    .description('Show an organization with its members and teams')
    .argument('<name>', 'organization')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const report = await withSpinner(rt.out, 'Reading the organization', async () => {
        const o = await api.call(
          api.client.GET('/api/v1/orgs/{org}', { params: { path: { org: name } } }),
        );
        const signedIn = api.target.auth.kind !== 'none';
        return {
          ...o,
          members: signedIn ? await ifAllowed(rt, 'members', () => members(api, o.name)) : null,
          teams: signedIn ? await ifAllowed(rt, 'teams', () => teams(api, o.name)) : null,
        };
      });
      if (rt.out.json) return rt.out.data(report);
      rt.out.fields([
        ['Name', report.name],
        ['Display name', report.displayName ?? '-'],
        ['Description', report.description ?? '-'],
        ['Created', formatDate(report.createdAt)],
        ['Your role', report.role ?? '-'],
      ]);
      if (report.members) {
        rt.out.line();
        rt.out.table(MEMBER_HEAD, memberRows(report.members), 'No members.');
      }
      if (report.teams) {
        rt.out.line();
        rt.out.table(
          ['TEAM', 'MEMBERS', 'DESCRIPTION'],
          report.teams.map((t) => [t.name, String(t.members), t.description ?? '-']),
          'No teams.',
        );
      }
    });

  org
    .command('rm')
    .alias('delete')
    .description('Delete an organization (it must hold no repositories)')
    .argument('<name>', 'organization')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (name: string, opts: { yes?: boolean }, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const org = name.toLowerCase();
      await confirmByName(`Deleting organization ${org} with its teams`, org, !!opts.yes);
      await api.done(api.client.DELETE('/api/v1/orgs/{org}', { params: { path: { org } } }));
      if (rt.out.json) return rt.out.data({ organization: org, deleted: true });
      rt.out.line(`Deleted organization ${org}.`);
    });

  const member = org.command('member').description('Members of an organization');
  member
    .command('ls')
    .description('List the members of an organization with their roles')
    .argument('<org>', 'organization')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const list = await members(api, name);
      if (rt.out.json) return rt.out.data(list);
      rt.out.table(MEMBER_HEAD, memberRows(list), 'No members.');
    });
  member
    .command('add')
    .description('Add a user to an organization')
    .argument('<org>', 'organization')
    .argument('<user>', 'user name')
    .addOption(
      new Option('--role <role>', 'role in the organization').choices(ROLES).default('member'),
    )
    .action(async (name: string, user: string, opts: { role: Role }, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const added = await api.call(
        api.client.POST('/api/v1/orgs/{org}/members', {
          params: { path: { org: name } },
          body: { username: user, role: opts.role },
        }),
      );
      if (rt.out.json) return rt.out.data(added);
      rt.out.line(`Added ${added.user.username} to ${name.toLowerCase()} as ${added.role}.`);
    });
  member
    .command('rm')
    .description('Remove a user from an organization (and its teams)')
    .argument('<org>', 'organization')
    .argument('<user>', 'user name')
    .action(async (name: string, user: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      await api.done(
        api.client.DELETE('/api/v1/orgs/{org}/members/{username}', {
          params: { path: { org: name, username: user } },
        }),
      );
      const org = name.toLowerCase();
      const username = user.toLowerCase();
      if (rt.out.json) return rt.out.data({ organization: org, username, removed: true });
      rt.out.line(`Removed ${username} from ${org}.`);
    });
  member
    .command('set-role')
    .description("Change a member's role")
    .argument('<org>', 'organization')
    .argument('<user>', 'user name')
    .addArgument(new Argument('<role>', 'owner, admin or member').choices(ROLES))
    .action(async (name: string, user: string, role: Role, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const changed = await api.call(
        api.client.PATCH('/api/v1/orgs/{org}/members/{username}', {
          params: { path: { org: name, username: user } },
          body: { role },
        }),
      );
      if (rt.out.json) return rt.out.data(changed);
      rt.out.line(`${changed.user.username} is now ${changed.role} of ${name.toLowerCase()}.`);
    });

  const team = program.command('team').description('Teams of an organization');
  team
    .command('create')
    .description('Create a team in an organization')
    .argument('<org>', 'organization')
    .argument('<team>', 'team name')
    .option('-d, --description <text>', 'description')
    .action(
      async (name: string, teamName: string, opts: { description?: string }, cmd: Command) => {
        const rt = Runtime.of(cmd);
        const api = rt.client();
        const created = await api.call(
          api.client.POST('/api/v1/orgs/{org}/teams', {
            params: { path: { org: name } },
            body: {
              name: teamName.toLowerCase(),
              ...(opts.description !== undefined ? { description: opts.description } : {}),
            },
          }),
        );
        if (rt.out.json) return rt.out.data(created);
        rt.out.line(`Created team ${created.name} in ${created.organization}.`);
      },
    );
  team
    .command('ls')
    .description('List the teams of an organization')
    .argument('<org>', 'organization')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const list = await teams(api, name);
      if (rt.out.json) return rt.out.data(list);
      rt.out.table(
        ['TEAM', 'MEMBERS', 'DESCRIPTION', 'CREATED'],
        list.map((t) => [t.name, String(t.members), t.description ?? '-', formatDate(t.createdAt)]),
        'No teams.',
      );
    });
  team
    .command('show')
    .description('Show a team and its members')
    .argument('<org>', 'organization')
    .argument('<team>', 'team')
    .action(async (name: string, teamName: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const path = { org: name, team: teamName };
      const t = await api.call(
        api.client.GET('/api/v1/orgs/{org}/teams/{team}', { params: { path } }),
      );
      const list = await api.call(
        api.client.GET('/api/v1/orgs/{org}/teams/{team}/members', { params: { path } }),
      );
      if (rt.out.json) return rt.out.data({ ...t, users: list });
      rt.out.fields([
        ['Team', `${t.organization}/${t.name}`],
        ['Description', t.description ?? '-'],
        ['Created', formatDate(t.createdAt)],
      ]);
      rt.out.line();
      rt.out.table(
        ['USER', 'DISPLAY NAME'],
        list.map((u) => [u.username, u.displayName ?? '-']),
        'No members.',
      );
    });
  team
    .command('rm')
    .alias('delete')
    .description('Delete a team (its grants go with it)')
    .argument('<org>', 'organization')
    .argument('<team>', 'team')
    .action(async (name: string, teamName: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      await api.done(
        api.client.DELETE('/api/v1/orgs/{org}/teams/{team}', {
          params: { path: { org: name, team: teamName } },
        }),
      );
      const id = { organization: name.toLowerCase(), team: teamName.toLowerCase() };
      if (rt.out.json) return rt.out.data({ ...id, deleted: true });
      rt.out.line(`Deleted team ${id.team} of ${id.organization}.`);
    });

  const teamMember = team.command('member').description('Members of a team');
  teamMember
    .command('add')
    .description('Add an organization member to a team')
    .argument('<org>', 'organization')
    .argument('<team>', 'team')
    .argument('<user>', 'user name')
    .action(async (name: string, teamName: string, user: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const added = await api.call(
        api.client.PUT('/api/v1/orgs/{org}/teams/{team}/members/{username}', {
          params: { path: { org: name, team: teamName, username: user } },
        }),
      );
      const id = { organization: name.toLowerCase(), team: teamName.toLowerCase() };
      if (rt.out.json) return rt.out.data({ ...id, user: added });
      rt.out.line(`Added ${added.username} to team ${id.team} of ${id.organization}.`);
    });
  teamMember
    .command('rm')
    .description('Remove a user from a team')
    .argument('<org>', 'organization')
    .argument('<team>', 'team')
    .argument('<user>', 'user name')
    .action(async (name: string, teamName: string, user: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      await api.done(
        api.client.DELETE('/api/v1/orgs/{org}/teams/{team}/members/{username}', {
          params: { path: { org: name, team: teamName, username: user } },
        }),
      );
      const id = {
        organization: name.toLowerCase(),
        team: teamName.toLowerCase(),
        username: user.toLowerCase(),
      };
      if (rt.out.json) return rt.out.data({ ...id, removed: true });
      rt.out.line(`Removed ${id.username} from team ${id.team} of ${id.organization}.`);
    });

  const perm = program.command('perm').description('User and team grants on a repository');
  perm
    .command('ls')
    .description('List the grants of a repository (repository admins)')
    .argument('<repository>', 'NAMESPACE/NAME')
    .action(async (repo: string, _opts: unknown, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const ref = parseRepoRef(repo, { tag: 'forbidden' });
      const grants = await api.call(
        api.client.GET('/api/v1/repos/{namespace}/{name}/permissions', {
          params: { path: { namespace: ref.namespace, name: ref.name } },
        }),
      );
      if (rt.out.json) return rt.out.data(grants);
      rt.out.table(
        ['KIND', 'NAME', 'LEVEL'],
        [
          ...grants.users.map((g) => ['user', g.username, g.level]),
          ...grants.teams.map((g) => ['team', g.team, g.level]),
        ],
        `No grants on ${ref.full}.`,
      );
    });
  perm
    .command('grant')
    .description('Give one user or team a level on a repository (keeps the other grants)')
    .argument('<repository>', 'NAMESPACE/NAME')
    .option('--user <user>', 'the user')
    .option('--team <team>', "the team (of the repository's organization)")
    .addOption(
      new Option('--level <level>', 'read (pull), write (pull, push) or admin')
        .choices(LEVELS)
        .makeOptionMandatory(),
    )
    .action(
      async (repo: string, opts: { user?: string; team?: string; level: Level }, cmd: Command) => {
        const rt = Runtime.of(cmd);
        const api = rt.client();
        const ref = parseRepoRef(repo, { tag: 'forbidden' });
        const who = grantee(opts);
        const path = { namespace: ref.namespace, name: ref.name };
        const grants =
          who.kind === 'user'
            ? await api.call(
                api.client.PUT('/api/v1/repos/{namespace}/{name}/permissions/users/{username}', {
                  params: { path: { ...path, username: who.name } },
                  body: { level: opts.level },
                }),
              )
            : await api.call(
                api.client.PUT('/api/v1/repos/{namespace}/{name}/permissions/teams/{team}', {
                  params: { path: { ...path, team: who.name } },
                  body: { level: opts.level },
                }),
              );
        if (rt.out.json) return rt.out.data(grants);
        rt.out.line(`Granted ${opts.level} on ${ref.full} to ${who.kind} ${who.name}.`);
      },
    );
  perm
    .command('revoke')
    .description("Remove one user's or team's grant on a repository")
    .argument('<repository>', 'NAMESPACE/NAME')
    .option('--user <user>', 'the user')
    .option('--team <team>', 'the team')
    .action(async (repo: string, opts: { user?: string; team?: string }, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const ref = parseRepoRef(repo, { tag: 'forbidden' });
      const who = grantee(opts);
      const path = { namespace: ref.namespace, name: ref.name };
      await api.done(
        who.kind === 'user'
          ? api.client.DELETE('/api/v1/repos/{namespace}/{name}/permissions/users/{username}', {
              params: { path: { ...path, username: who.name } },
            })
          : api.client.DELETE('/api/v1/repos/{namespace}/{name}/permissions/teams/{team}', {
              params: { path: { ...path, team: who.name } },
            }),
      );
      if (rt.out.json)
        return rt.out.data({ repository: ref.full, [who.kind]: who.name, revoked: true });
      rt.out.line(`Revoked the grant of ${who.kind} ${who.name} on ${ref.full}.`);
    });
}

function grantee(opts: { user?: string; team?: string }): { kind: 'user' | 'team'; name: string } {
  if (!!opts.user === !!opts.team) throw usageError('name exactly one of --user and --team');
  return opts.user
    ? { kind: 'user', name: opts.user.toLowerCase() }
    : { kind: 'team', name: opts.team!.toLowerCase() };
}
