import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../api';
import { timeAgo } from '../lib/format';
import { ActionForm, ConfirmButton, ErrorText, Field, Loading, str, useUser } from '../ui';
import { RepoList } from './home';

const ROLES = ['member', 'admin', 'owner'] as const;
type Role = (typeof ROLES)[number];

export function OrgsPage() {
  const navigate = useNavigate();
  const orgs = useQuery({
    queryKey: ['orgs', 'mine'],
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/orgs', { params: { query: { perPage: 100 } } })),
  });
  const mine = (orgs.data?.items ?? []).filter((o) => o.role);
  return (
    <section className="stack">
      <h1>Organizations</h1>
      {orgs.isPending ? (
        <Loading />
      ) : orgs.error ? (
        <ErrorText error={orgs.error} />
      ) : mine.length ? (
        <ul className="cards">
          {mine.map((o) => (
            <li key={o.name} className="card">
              <Link to={`/orgs/${o.name}`} className="card-title">
                {o.displayName || o.name}
              </Link>
              <span className="badge">{o.role}</span>
              {o.description && <p className="muted clamp">{o.description}</p>}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">You belong to no organization yet.</p>
      )}
      <h2>Create an organization</h2>
      <ActionForm
        label="Create an organization"
        submitLabel="Create organization"
        onSubmit={async (f) => {
          const name = str(f, 'name');
          const displayName = str(f, 'displayName');
          unwrap(
            await api.POST('/api/v1/orgs', {
              body: { name, ...(displayName ? { displayName } : {}) },
            }),
          );
          navigate(`/orgs/${name}`);
        }}
      >
        <Field label="Name" hint="Also its namespace: lower-case letters, digits and . _ -">
          {(id) => <input id={id} name="name" required maxLength={64} />}
        </Field>
        <Field label="Display name (optional)">
          {(id) => <input id={id} name="displayName" maxLength={128} />}
        </Field>
      </ActionForm>
    </section>
  );
}

export function OrgPage() {
  const { org = '' } = useParams();
  const user = useUser();
  const client = useQueryClient();
  const info = useQuery({
    queryKey: ['org', org],
    queryFn: async () => unwrap(await api.GET('/api/v1/orgs/{org}', { params: { path: { org } } })),
  });
  const isMember = !!info.data?.role;
  const manage = info.data?.role === 'owner' || info.data?.role === 'admin' || !!user?.isAdmin;
  const members = useQuery({
    queryKey: ['org', org, 'members'],
    enabled: isMember || !!user?.isAdmin,
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/orgs/{org}/members', { params: { path: { org } } })),
  });
  const teams = useQuery({
    queryKey: ['org', org, 'teams'],
    enabled: isMember || !!user?.isAdmin,
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/orgs/{org}/teams', { params: { path: { org } } })),
  });
  const repos = useQuery({
    queryKey: ['repos', 'ns', org, 1],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/repos', { params: { query: { namespace: org, perPage: 50 } } }),
      ),
  });
  const [roleError, setRoleError] = useState<unknown>(null);
  const refresh = () => client.invalidateQueries({ queryKey: ['org', org] });
  if (info.isPending) return <Loading />;
  if (info.error)
    return (
      <section>
        <h1>{org}</h1>
        <ErrorText error={info.error} />
      </section>
    );
  const o = info.data;
  return (
    <section className="stack">
      <div className="row wrap">
        <h1 className="grow">{o.displayName || o.name}</h1>
        {o.role && <span className="badge">your role: {o.role}</span>}
      </div>
      {o.description && <p>{o.description}</p>}
      <p className="muted">Created {timeAgo(o.createdAt)}</p>

      {(isMember || user?.isAdmin) && (
        <section aria-labelledby="members-h" className="stack">
          <h2 id="members-h">Members</h2>
          {members.isPending ? (
            <Loading />
          ) : members.error ? (
            <ErrorText error={members.error} />
          ) : (
            <div className="table-wrap" tabIndex={0}>
              <table>
                <caption className="visually-hidden">Members of {org} and their roles</caption>
                <thead>
                  <tr>
                    <th scope="col">User</th>
                    <th scope="col">Role</th>
                    <th scope="col">Since</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {members.data.map((m) => (
                    <tr key={m.user.username}>
                      <th scope="row">{m.user.username}</th>
                      <td>
                        {manage ? (
                          <>
                            <label htmlFor={`role-${m.user.username}`} className="visually-hidden">
                              Role of {m.user.username}
                            </label>
                            <select
                              id={`role-${m.user.username}`}
                              value={m.role}
                              onChange={(e) => {
                                void api
                                  .PATCH('/api/v1/orgs/{org}/members/{username}', {
                                    params: { path: { org, username: m.user.username } },
                                    body: { role: e.target.value as Role },
                                  })
                                  .then(unwrap)
                                  .then(
                                    () => {
                                      setRoleError(null);
                                      return refresh();
                                    },
                                    (err: unknown) => setRoleError(err),
                                  );
                              }}
                            >
                              {ROLES.map((r) => (
                                <option key={r}>{r}</option>
                              ))}
                            </select>
                          </>
                        ) : (
                          m.role
                        )}
                      </td>
                      <td>{timeAgo(m.since)}</td>
                      <td>
                        {(manage || m.user.username === user?.username) && (
                          <ConfirmButton
                            label={m.user.username === user?.username ? 'Leave' : 'Remove'}
                            title={`Remove ${m.user.username} from ${org}?`}
                            description="They lose every access they had through the organization."
                            confirmLabel="Remove"
                            onConfirm={async () => {
                              unwrap(
                                await api.DELETE('/api/v1/orgs/{org}/members/{username}', {
                                  params: { path: { org, username: m.user.username } },
                                }),
                              );
                              await refresh();
                            }}
                          />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <ErrorText error={roleError} />
          {manage && (
            <ActionForm
              label="Add a member"
              submitLabel="Add member"
              className="row wrap end-items"
              onSubmit={async (f) => {
                unwrap(
                  await api.POST('/api/v1/orgs/{org}/members', {
                    params: { path: { org } },
                    body: { username: str(f, 'username'), role: str(f, 'role') as Role },
                  }),
                );
                await refresh();
              }}
            >
              <Field label="User name">{(id) => <input id={id} name="username" required />}</Field>
              <Field label="Role">
                {(id) => (
                  <select id={id} name="role" defaultValue="member">
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                )}
              </Field>
            </ActionForm>
          )}
        </section>
      )}

      {(isMember || user?.isAdmin) && (
        <section aria-labelledby="teams-h" className="stack">
          <h2 id="teams-h">Teams</h2>
          {teams.isPending ? (
            <Loading />
          ) : teams.error ? (
            <ErrorText error={teams.error} />
          ) : teams.data.length ? (
            <ul className="cards">
              {teams.data.map((t) => (
                <li key={t.name} className="card">
                  <Link to={`/orgs/${org}/teams/${t.name}`} className="card-title">
                    {t.name}
                  </Link>
                  <span className="block muted">
                    {t.members} member{t.members === 1 ? '' : 's'}
                  </span>
                  {t.description && <p className="muted clamp">{t.description}</p>}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No teams yet.</p>
          )}
          {manage && (
            <ActionForm
              label="Create a team"
              submitLabel="Create team"
              className="row wrap end-items"
              onSubmit={async (f) => {
                const description = str(f, 'description');
                unwrap(
                  await api.POST('/api/v1/orgs/{org}/teams', {
                    params: { path: { org } },
                    body: { name: str(f, 'name'), ...(description ? { description } : {}) },
                  }),
                );
                await refresh();
              }}
            >
              <Field label="Team name">{(id) => <input id={id} name="name" required />}</Field>
              <Field label="Description (optional)">
                {(id) => <input id={id} name="description" />}
              </Field>
            </ActionForm>
          )}
        </section>
      )}

      <section aria-labelledby="org-repos-h">
        <h2 id="org-repos-h">Repositories</h2>
        {repos.isPending ? (
          <Loading />
        ) : repos.error ? (
          <ErrorText error={repos.error} />
        ) : (
          <RepoList repos={repos.data.items} empty="No repository here that you can see." />
        )}
      </section>
    </section>
  );
}

export function TeamPage() {
  const { org = '', team = '' } = useParams();
  const user = useUser();
  const client = useQueryClient();
  const navigate = useNavigate();
  const info = useQuery({
    queryKey: ['org', org],
    queryFn: async () => unwrap(await api.GET('/api/v1/orgs/{org}', { params: { path: { org } } })),
  });
  const t = useQuery({
    queryKey: ['org', org, 'team', team],
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/orgs/{org}/teams/{team}', { params: { path: { org, team } } })),
  });
  const members = useQuery({
    queryKey: ['org', org, 'team', team, 'members'],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/orgs/{org}/teams/{team}/members', {
          params: { path: { org, team } },
        }),
      ),
  });
  const manage = info.data?.role === 'owner' || info.data?.role === 'admin' || !!user?.isAdmin;
  const refresh = () => client.invalidateQueries({ queryKey: ['org', org] });
  return (
    <section className="stack">
      <p>
        <Link to={`/orgs/${org}`}>← {org}</Link>
      </p>
      <h1>
        Team {team} <span className="muted">of {org}</span>
      </h1>
      <ErrorText error={t.error} />
      {t.data?.description && <p>{t.data.description}</p>}
      <h2>Members</h2>
      {members.isPending ? (
        <Loading />
      ) : members.error ? (
        <ErrorText error={members.error} />
      ) : members.data.length ? (
        <ul className="plain">
          {members.data.map((u) => (
            <li key={u.username} className="row">
              <span className="grow">{u.username}</span>
              {manage && (
                <ConfirmButton
                  label="Remove"
                  title={`Remove ${u.username} from team ${team}?`}
                  description="They lose the access the team's grants gave them."
                  confirmLabel="Remove"
                  onConfirm={async () => {
                    unwrap(
                      await api.DELETE('/api/v1/orgs/{org}/teams/{team}/members/{username}', {
                        params: { path: { org, team, username: u.username } },
                      }),
                    );
                    await refresh();
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No members yet.</p>
      )}
      {manage && (
        <>
          <ActionForm
            label="Add a team member"
            submitLabel="Add to team"
            className="row wrap end-items"
            onSubmit={async (f) => {
              unwrap(
                await api.PUT('/api/v1/orgs/{org}/teams/{team}/members/{username}', {
                  params: { path: { org, team, username: str(f, 'username') } },
                }),
              );
              await refresh();
            }}
          >
            <Field label="User name" hint="A member of the organization">
              {(id) => <input id={id} name="username" required />}
            </Field>
          </ActionForm>
          <p className="muted">
            Grant the team access to a repository from the repository's Settings page.
          </p>
          <div className="danger-zone">
            <ConfirmButton
              label="Delete team"
              title={`Delete team ${team}?`}
              description="Its grants on repositories are removed too."
              confirmLabel="Delete team"
              onConfirm={async () => {
                unwrap(
                  await api.DELETE('/api/v1/orgs/{org}/teams/{team}', {
                    params: { path: { org, team } },
                  }),
                );
                await refresh();
                navigate(`/orgs/${org}`);
              }}
            />
          </div>
        </>
      )}
    </section>
  );
}
