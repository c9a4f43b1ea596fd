import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useDeferredValue, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, repoParams, unwrap, type Schemas } from '../api';
import { formatBytes, pullCommand, shortDigest, timeAgo } from '../lib/format';
import {
  ActionForm,
  ConfirmButton,
  CopyField,
  ErrorText,
  Field,
  Loading,
  str,
  useUser,
} from '../ui';
import { Pager } from './home';

function useRepo(full: string) {
  return useQuery({
    queryKey: ['repo', full],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/repos/{namespace}/{name}', { params: { path: repoParams(full) } }),
      ),
  });
}

function kindOf(mediaType: string): string {
  if (/index|manifest\.list/.test(mediaType)) return 'index';
  return 'image';
}

const TAGS_PER_PAGE = 25;
type TagSortKey = 'name' | 'size' | 'pushedAt';

const COLUMNS: [TagSortKey | null, string][] = [
  ['name', 'Tag'],
  [null, 'Digest'],
  ['size', 'Size'],
  [null, 'Type and platforms'],
  ['pushedAt', 'Pushed'],
  [null, 'Pulls'],
];

export function RepositoryPage({ full }: { full: string }) {
  const repo = useRepo(full);
  const navigate = useNavigate();
  const client = useQueryClient();
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<TagSortKey>('pushedAt');
  const [descending, setDescending] = useState(true);
  const [page, setPage] = useState(1);
  const q = useDeferredValue(filter.trim());
  // Tags are filtered, sorted and paged by the server: fast however many there are.
  const tagPage = useQuery({
    queryKey: ['repo', full, 'tags', q, sort, descending, page],
    placeholderData: keepPreviousData,
    enabled: repo.isSuccess,
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/repos/{namespace}/{name}/tags', {
          params: {
            path: repoParams(full),
            query: {
              page,
              perPage: TAGS_PER_PAGE,
              sort,
              order: descending ? 'desc' : 'asc',
              ...(q ? { q } : {}),
            },
          },
        }),
      ),
  });
  if (repo.isPending) return <Loading />;
  if (repo.error)
    return (
      <section>
        <h1>{full}</h1>
        <ErrorText error={repo.error} />
      </section>
    );
  const r = repo.data;
  const admin = r.permission === 'admin';
  const path = repoParams(full);
  const rows = tagPage.data?.items ?? [];
  const total = tagPage.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / TAGS_PER_PAGE));
  return (
    <section className="stack">
      <div className="row wrap">
        <h1 className="grow">
          <Link to={`/ns/${r.namespace}`}>{r.namespace}</Link>/
          {r.name.slice(r.namespace.length + 1)}
        </h1>
        <span className={`badge ${r.visibility}`}>{r.visibility}</span>
        <span className="badge">your access: {r.permission}</span>
        <span className="badge" title="Manifest pulls, all tags">
          {r.pullCount} {r.pullCount === 1 ? 'pull' : 'pulls'}
        </span>
        {admin && (
          <Link className="button secondary small" to={`/repo/${full}/-/settings`}>
            Settings
          </Link>
        )}
      </div>
      {r.description ? <p>{r.description}</p> : <p className="muted">No description.</p>}
      <div>
        <h2 className="h3">Pull</h2>
        <CopyField label="Pull command" value={pullCommand(location.origin, r.name)} />
      </div>
      <section aria-labelledby="tags-h" className="stack">
        <div className="row wrap">
          <h2 id="tags-h" className="grow">
            Tags{' '}
            {tagPage.data && <span className="muted">({q ? `${total} matching` : total})</span>}
          </h2>
          <label htmlFor="tag-filter" className="visually-hidden">
            Filter tags
          </label>
          <input
            id="tag-filter"
            type="search"
            placeholder="Filter tags"
            value={filter}
            onChange={(e) => {
              setFilter(e.target.value);
              setPage(1);
            }}
          />
        </div>
        <ErrorText error={tagPage.error} />
        {tagPage.isPending ? (
          <Loading what="Loading tags" />
        ) : total === 0 && !q ? (
          <p className="muted">
            No tags yet. Push one with docker push {location.host}/{r.name}:TAG
          </p>
        ) : (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption className="visually-hidden">
                Tags of {r.name}, page {page} of {pages}, sorted by {sort}
              </caption>
              <thead>
                <tr>
                  {COLUMNS.map(([key, label]) => (
                    <th
                      key={label}
                      scope="col"
                      aria-sort={
                        key && key === sort ? (descending ? 'descending' : 'ascending') : undefined
                      }
                    >
                      {key ? (
                        <button
                          type="button"
                          className="link"
                          onClick={() => {
                            if (key === sort) setDescending(!descending);
                            else {
                              setSort(key);
                              setDescending(key !== 'name');
                            }
                            setPage(1);
                          }}
                        >
                          {label}
                          {key === sort ? (descending ? ' ↓' : ' ↑') : ''}
                        </button>
                      ) : (
                        label
                      )}
                    </th>
                  ))}
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((t) => (
                  <tr key={t.name}>
                    <th scope="row">
                      <Link to={`/repo/${full}/-/manifest/${t.name}`}>{t.name}</Link>
                    </th>
                    <td>
                      <code title={t.digest} data-digest={t.digest}>
                        {shortDigest(t.digest)}
                      </code>
                    </td>
                    <td data-size={t.size}>{formatBytes(t.size)}</td>
                    <td data-platforms={t.platforms?.join(',')}>
                      {kindOf(t.mediaType)}
                      {t.platforms && t.platforms.length > 0 && (
                        <small className="block muted">{t.platforms.join(', ')}</small>
                      )}
                    </td>
                    <td>
                      <time dateTime={t.pushedAt} title={new Date(t.pushedAt).toLocaleString()}>
                        {timeAgo(t.pushedAt)}
                      </time>
                    </td>
                    <td data-pulls={t.pullCount}>
                      {t.pullCount}
                      {t.lastPulledAt && (
                        <small className="block muted">
                          last{' '}
                          <time
                            dateTime={t.lastPulledAt}
                            title={new Date(t.lastPulledAt).toLocaleString()}
                          >
                            {timeAgo(t.lastPulledAt)}
                          </time>
                        </small>
                      )}
                    </td>
                    <td className="actions">
                      <ConfirmButton
                        label="Delete"
                        disabled={!admin}
                        title={`Delete tag ${t.name}?`}
                        description={
                          <>
                            The tag <code>{t.name}</code> is removed from {r.name}. The image stays
                            reachable by its digest until it is cleaned up.
                          </>
                        }
                        confirmLabel="Delete tag"
                        onConfirm={async () => {
                          unwrap(
                            await api.DELETE('/api/v1/repos/{namespace}/{name}/tags/{tag}', {
                              params: { path: { ...path, tag: t.name } },
                            }),
                          );
                          await client.invalidateQueries({ queryKey: ['repo', full] });
                        }}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager page={Math.min(page, pages)} pages={pages} onPage={setPage} />
      </section>
      {admin && (
        <section aria-labelledby="danger-h" className="danger-zone">
          <h2 id="danger-h" className="h3">
            Delete repository
          </h2>
          <ConfirmButton
            label="Delete repository"
            title={`Delete ${r.name}?`}
            description="Every tag and manifest of this repository is deleted. This cannot be undone."
            confirmLabel="Delete repository"
            onConfirm={async () => {
              unwrap(await api.DELETE('/api/v1/repos/{namespace}/{name}', { params: { path } }));
              client.removeQueries({ queryKey: ['repo', full] });
              await client.invalidateQueries({ queryKey: ['repos'] });
              navigate(`/ns/${r.namespace}`);
            }}
          />
        </section>
      )}
    </section>
  );
}

function DescriptorTable({
  caption,
  rows,
  full,
  platform,
}: {
  caption: string;
  rows: Schemas['DescriptorViewDto'][];
  full: string;
  platform?: boolean;
}) {
  return (
    <div className="table-wrap" tabIndex={0}>
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            {platform && <th scope="col">Platform</th>}
            <th scope="col">Digest</th>
            <th scope="col">Type</th>
            <th scope="col">Size</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d, i) => (
            <tr key={`${d.digest}-${i}`}>
              <td>{i + 1}</td>
              {platform && (
                <td>
                  <Link to={`/repo/${full}/-/manifest/${d.digest}`}>
                    {d.platform ?? d.artifactType ?? 'unknown'}
                  </Link>
                </td>
              )}
              <td>
                <code title={d.digest}>{shortDigest(d.digest)}</code>
              </td>
              <td>
                <small>{d.artifactType ?? d.mediaType}</small>
              </td>
              <td data-size={d.size}>{formatBytes(d.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ManifestPage({ full, reference }: { full: string; reference: string }) {
  const m = useQuery({
    queryKey: ['manifest', full, reference],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/repos/{namespace}/{name}/manifests/{reference}', {
          params: { path: { ...repoParams(full), reference } },
        }),
      ),
  });
  const isDigest = reference.includes(':');
  return (
    <section className="stack">
      <p>
        <Link to={`/repo/${full}`}>← {full}</Link>
      </p>
      <h1>
        {full}
        {isDigest ? '@' : ':'}
        <span className="break">{isDigest ? shortDigest(reference) : reference}</span>
      </h1>
      {m.isPending ? (
        <Loading />
      ) : m.error ? (
        <ErrorText error={m.error} />
      ) : (
        <>
          <dl className="facts">
            <dt>Digest</dt>
            <dd>
              <code className="break">{m.data.digest}</code>
            </dd>
            <dt>Media type</dt>
            <dd>{m.data.mediaType}</dd>
            {m.data.artifactType && (
              <>
                <dt>Artifact type</dt>
                <dd>{m.data.artifactType}</dd>
              </>
            )}
            {m.data.image && (
              <>
                <dt>Platform</dt>
                <dd>
                  {[m.data.image.os, m.data.image.architecture, m.data.image.variant]
                    .filter(Boolean)
                    .join('/') || 'unknown'}
                </dd>
                <dt>Created</dt>
                <dd>
                  {m.data.image.created ? new Date(m.data.image.created).toLocaleString() : '–'}
                </dd>
                <dt>Entrypoint</dt>
                <dd>
                  <code>{m.data.image.entrypoint?.join(' ') || '–'}</code>
                </dd>
                <dt>Command</dt>
                <dd>
                  <code>{m.data.image.cmd?.join(' ') || '–'}</code>
                </dd>
              </>
            )}
            {m.data.kind === 'image' && (
              <>
                <dt>Total layer size</dt>
                <dd>{formatBytes(m.data.layers.reduce((n, l) => n + l.size, 0))}</dd>
              </>
            )}
          </dl>
          <CopyField
            label="Pull by digest"
            value={`docker pull ${location.host}/${full}@${m.data.digest}`}
          />
          {m.data.kind === 'index' && (
            <DescriptorTable caption="Platforms" rows={m.data.manifests} full={full} platform />
          )}
          {m.data.kind === 'image' && (
            <DescriptorTable caption="Layers" rows={m.data.layers} full={full} />
          )}
          {m.data.image?.labels && Object.keys(m.data.image.labels).length > 0 && (
            <div className="table-wrap" tabIndex={0}>
              <table>
                <caption>Labels</caption>
                <tbody>
                  {Object.entries(m.data.image.labels).map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row">{k}</th>
                      <td className="break">{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {m.data.image?.history && m.data.image.history.length > 0 && (
            <div className="table-wrap" tabIndex={0}>
              <table>
                <caption>History</caption>
                <thead>
                  <tr>
                    <th scope="col">Created</th>
                    <th scope="col">Step</th>
                    <th scope="col">Layer</th>
                  </tr>
                </thead>
                <tbody>
                  {m.data.image.history.map((h, i) => (
                    <tr key={i}>
                      <td>{h.created ? new Date(h.created).toLocaleString() : '–'}</td>
                      <td>
                        <code className="break">{h.createdBy ?? h.comment ?? ''}</code>
                      </td>
                      <td>{h.emptyLayer ? 'none' : 'yes'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <section aria-labelledby="ref-h">
            <h2 id="ref-h" className="h3">
              Referrers
            </h2>
            {m.data.referrers.length === 0 ? (
              <p className="muted">No signatures, SBOMs or attestations refer to this manifest.</p>
            ) : (
              <DescriptorTable
                caption="Referrers by artifact type"
                rows={m.data.referrers}
                full={full}
                platform
              />
            )}
          </section>
        </>
      )}
    </section>
  );
}

const LEVELS = ['read', 'write', 'admin'] as const;

export function RepositorySettingsPage({ full }: { full: string }) {
  const repo = useRepo(full);
  const client = useQueryClient();
  const user = useUser();
  const path = repoParams(full);
  const perms = useQuery({
    queryKey: ['repo-perms', full],
    enabled: repo.data?.permission === 'admin',
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/repos/{namespace}/{name}/permissions', { params: { path } })),
  });
  if (repo.isPending) return <Loading />;
  if (repo.error) return <ErrorText error={repo.error} />;
  const r = repo.data;
  const refresh = () =>
    Promise.all([
      client.invalidateQueries({ queryKey: ['repo', full] }),
      client.invalidateQueries({ queryKey: ['repo-perms', full] }),
    ]);
  const isOrgRepo = r.namespace !== user?.username;
  return (
    <section className="stack">
      <p>
        <Link to={`/repo/${full}`}>← {full}</Link>
      </p>
      <h1>Settings of {full}</h1>
      {r.permission !== 'admin' ? (
        <p className="error" role="alert">
          Only administrators of this repository can change its settings.
        </p>
      ) : (
        <>
          <ActionForm
            label="Repository details"
            submitLabel="Save"
            onSubmit={async (f) => {
              const description = str(f, 'description');
              unwrap(
                await api.PATCH('/api/v1/repos/{namespace}/{name}', {
                  params: { path },
                  body: {
                    visibility: str(f, 'visibility') as 'public' | 'private',
                    description: description || null,
                  },
                }),
              );
              await refresh();
            }}
          >
            <Field label="Description">
              {(id) => (
                <textarea
                  id={id}
                  name="description"
                  rows={3}
                  maxLength={4096}
                  defaultValue={r.description ?? ''}
                />
              )}
            </Field>
            <Field label="Visibility">
              {(id) => (
                <select id={id} name="visibility" defaultValue={r.visibility}>
                  <option value="private">private: only people with access</option>
                  <option value="public">public: anyone may pull</option>
                </select>
              )}
            </Field>
          </ActionForm>
          <section aria-labelledby="perm-h" className="stack">
            <h2 id="perm-h">Permissions</h2>
            {perms.isPending ? (
              <Loading />
            ) : perms.error ? (
              <ErrorText error={perms.error} />
            ) : (
              <div className="table-wrap" tabIndex={0}>
                <table>
                  <caption className="visually-hidden">Who may do what</caption>
                  <thead>
                    <tr>
                      <th scope="col">Who</th>
                      <th scope="col">Level</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {perms.data.users.map((g) => (
                      <tr key={`u:${g.username}`}>
                        <th scope="row">user {g.username}</th>
                        <td>{g.level}</td>
                        <td>
                          <ConfirmButton
                            label="Revoke"
                            title={`Revoke ${g.username}'s access?`}
                            description={`${g.username} loses the ${g.level} grant on ${full}.`}
                            confirmLabel="Revoke"
                            onConfirm={async () => {
                              unwrap(
                                await api.DELETE(
                                  '/api/v1/repos/{namespace}/{name}/permissions/users/{username}',
                                  { params: { path: { ...path, username: g.username } } },
                                ),
                              );
                              await refresh();
                            }}
                          />
                        </td>
                      </tr>
                    ))}
                    {(perms.data.teams ?? []).map((g) => (
                      <tr key={`t:${g.team}`}>
                        <th scope="row">team {g.team}</th>
                        <td>{g.level}</td>
                        <td>
                          <ConfirmButton
                            label="Revoke"
                            title={`Revoke team ${g.team}'s access?`}
                            description={`Team ${g.team} loses the ${g.level} grant on ${full}.`}
                            confirmLabel="Revoke"
                            onConfirm={async () => {
                              unwrap(
                                await api.DELETE(
                                  '/api/v1/repos/{namespace}/{name}/permissions/teams/{team}',
                                  { params: { path: { ...path, team: g.team } } },
                                ),
                              );
                              await refresh();
                            }}
                          />
                        </td>
                      </tr>
                    ))}
                    {perms.data.users.length + (perms.data.teams ?? []).length === 0 && (
                      <tr>
                        <td colSpan={3} className="muted">
                          No grants: only the namespace's owners have access.
                        </td>
                      </tr>
                    )}
                  </tbody>
                </table>
              </div>
            )}
            <ActionForm
              label="Grant access"
              submitLabel="Grant"
              className="row wrap end-items"
              onSubmit={async (f) => {
                const who = str(f, 'who');
                const level = str(f, 'level') as (typeof LEVELS)[number];
                const kind = str(f, 'kind');
                if (!who) throw new Error('Name a user or team.');
                unwrap(
                  kind === 'team'
                    ? await api.PUT('/api/v1/repos/{namespace}/{name}/permissions/teams/{team}', {
                        params: { path: { ...path, team: who } },
                        body: { level },
                      })
                    : await api.PUT(
                        '/api/v1/repos/{namespace}/{name}/permissions/users/{username}',
                        { params: { path: { ...path, username: who } }, body: { level } },
                      ),
                );
                await refresh();
              }}
            >
              <Field label="Grant to">
                {(id) => (
                  <select id={id} name="kind" defaultValue="user">
                    <option value="user">user</option>
                    {isOrgRepo && <option value="team">team</option>}
                  </select>
                )}
              </Field>
              <Field label="Name">{(id) => <input id={id} name="who" required />}</Field>
              <Field label="Level">
                {(id) => (
                  <select id={id} name="level" defaultValue="read">
                    {LEVELS.map((l) => (
                      <option key={l}>{l}</option>
                    ))}
                  </select>
                )}
              </Field>
            </ActionForm>
          </section>
        </>
      )}
    </section>
  );
}
