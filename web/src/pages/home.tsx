import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, unwrap, type Schemas } from '../api';
import { timeAgo } from '../lib/format';
import { ErrorText, Loading, useUser } from '../ui';

export function RepoList({ repos, empty }: { repos: Schemas['RepoDto'][]; empty: string }) {
  if (!repos.length) return <p className="muted">{empty}</p>;
  return (
    <ul className="cards">
      {repos.map((r) => (
        <li key={r.name} className="card">
          <Link to={`/repo/${r.name}`} className="card-title">
            {r.name}
          </Link>
          <span className={`badge ${r.visibility}`}>{r.visibility}</span>
          {r.description && <p className="muted clamp">{r.description}</p>}
          <small className="block muted">pushed {timeAgo(r.lastPushedAt)}</small>
        </li>
      ))}
    </ul>
  );
}

function SearchBox({ initial = '' }: { initial?: string }) {
  const navigate = useNavigate();
  const [q, setQ] = useState(initial);
  return (
    <form
      role="search"
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        navigate(`/search?q=${encodeURIComponent(q)}`);
      }}
    >
      <label htmlFor="search-q" className="visually-hidden">
        Search repositories, users and organizations
      </label>
      <input
        id="search-q"
        type="search"
        className="grow"
        placeholder="Search repositories, users and organizations"
        value={q}
        onChange={(e) => setQ(e.target.value)}
      />
      <button type="submit">Search</button>
    </form>
  );
}

export function HomePage() {
  const user = useUser();
  const repos = useQuery({
    queryKey: ['repos', 'recent'],
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/repos', { params: { query: { perPage: 100 } } })),
  });
  const orgs = useQuery({
    queryKey: ['orgs', 'mine'],
    enabled: !!user,
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/orgs', { params: { query: { perPage: 100 } } })),
  });
  const recent = [...(repos.data?.items ?? [])]
    .filter((r) => r.lastPushedAt)
    .sort((a, b) => Date.parse(b.lastPushedAt!) - Date.parse(a.lastPushedAt!))
    .slice(0, 12);
  const myOrgs = (orgs.data?.items ?? []).filter((o) => o.role);
  return (
    <section className="stack">
      <h1>{user ? `Welcome, ${user.displayName || user.username}` : 'Aerugo registry'}</h1>
      <SearchBox />
      {user && (
        <div className="grid-2">
          <section aria-labelledby="ns-h">
            <h2 id="ns-h">Your namespaces</h2>
            <ul className="plain">
              <li>
                <Link to={`/ns/${user.username}`}>{user.username}</Link>{' '}
                <span className="muted">(personal)</span>
              </li>
              {myOrgs.map((o) => (
                <li key={o.name}>
                  <Link to={`/ns/${o.name}`}>{o.name}</Link>{' '}
                  <span className="muted">(organization)</span>
                </li>
              ))}
            </ul>
          </section>
          <section aria-labelledby="orgs-h">
            <h2 id="orgs-h">Your organizations</h2>
            {orgs.isPending ? (
              <Loading />
            ) : myOrgs.length ? (
              <ul className="plain">
                {myOrgs.map((o) => (
                  <li key={o.name}>
                    <Link to={`/orgs/${o.name}`}>{o.displayName || o.name}</Link>{' '}
                    <span className="badge">{o.role}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <p className="muted">None yet.</p>
            )}
            <p>
              <Link to="/orgs">Manage or create organizations</Link>
            </p>
          </section>
        </div>
      )}
      <section aria-labelledby="recent-h">
        <h2 id="recent-h">Recently pushed</h2>
        {repos.isPending ? (
          <Loading />
        ) : repos.error ? (
          <ErrorText error={repos.error} />
        ) : (
          <RepoList
            repos={recent}
            empty={user ? 'Nothing pushed yet that you can see.' : 'No public repository yet.'}
          />
        )}
      </section>
      {!user && (
        <p>
          <Link to="/sign-in">Sign in</Link> to see your private repositories and organizations.
        </p>
      )}
    </section>
  );
}

const KINDS = [
  ['', 'All'],
  ['repository', 'Repositories'],
  ['organization', 'Organizations'],
  ['user', 'Users'],
] as const;

export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const kind = (params.get('kind') ?? '') as '' | 'repository' | 'organization' | 'user';
  const page = Number(params.get('page') ?? '1') || 1;
  const res = useQuery({
    queryKey: ['search', q, kind, page],
    enabled: q.trim().length > 0,
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/search', {
          params: { query: { q, page, perPage: 20, ...(kind ? { kind: [kind] } : {}) } },
        }),
      ),
  });
  const set = (k: string, v: string) => {
    const n = new URLSearchParams(params);
    if (v) n.set(k, v);
    else n.delete(k);
    if (k !== 'page') n.delete('page');
    setParams(n);
  };
  const data = res.data;
  return (
    <section className="stack">
      <h1>Search</h1>
      <SearchBox key={q} initial={q} />
      {q && (
        <div className="tabs" role="group" aria-label="Kind of result">
          {KINDS.map(([k, label]) => {
            const n = data
              ? k
                ? (data.counts as unknown as Record<string, number>)[k]
                : data.counts.repository + data.counts.organization + data.counts.user
              : undefined;
            return (
              <button
                key={k}
                type="button"
                className={kind === k ? 'tab active' : 'tab'}
                aria-pressed={kind === k}
                onClick={() => set('kind', k)}
              >
                {label}
                {n !== undefined && ` (${n})`}
              </button>
            );
          })}
        </div>
      )}
      {res.isFetching && <Loading what="Searching" />}
      <ErrorText error={res.error} />
      {data && (
        <>
          <p className="muted" role="status">
            {data.total} result{data.total === 1 ? '' : 's'} for “{q}”
          </p>
          <ul className="cards">
            {data.items.map((r) => (
              <li key={`${r.kind}:${r.name}`} className="card">
                <Link
                  className="card-title"
                  to={
                    r.kind === 'repository'
                      ? `/repo/${r.name}`
                      : r.kind === 'organization'
                        ? `/orgs/${r.name}`
                        : `/ns/${r.name}`
                  }
                >
                  {r.name}
                </Link>
                <span className="badge">{r.kind}</span>
                {r.visibility && <span className={`badge ${r.visibility}`}>{r.visibility}</span>}
                {(r.description || r.displayName) && (
                  <p className="muted clamp">{r.description || r.displayName}</p>
                )}
              </li>
            ))}
          </ul>
          <Pager
            page={data.page}
            pages={Math.max(1, Math.ceil(data.total / data.perPage))}
            onPage={(p) => set('page', String(p))}
          />
        </>
      )}
    </section>
  );
}

export function Pager({
  page,
  pages,
  onPage,
}: {
  page: number;
  pages: number;
  onPage: (p: number) => void;
}) {
  if (pages <= 1) return null;
  return (
    <nav className="row pager" aria-label="Pages">
      <button
        type="button"
        className="secondary small"
        disabled={page <= 1}
        onClick={() => onPage(page - 1)}
      >
        Previous
      </button>
      <span>
        Page {page} of {pages}
      </span>
      <button
        type="button"
        className="secondary small"
        disabled={page >= pages}
        onClick={() => onPage(page + 1)}
      >
        Next
      </button>
    </nav>
  );
}

export function NamespacePage() {
  const { namespace = '' } = useParams();
  const [page, setPage] = useState(1);
  const repos = useQuery({
    queryKey: ['repos', 'ns', namespace, page],
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/repos', {
          params: { query: { namespace, page, perPage: 50 } },
        }),
      ),
  });
  return (
    <section className="stack">
      <h1>{namespace}</h1>
      <p>
        <Link to={`/orgs/${namespace}`}>Organization page</Link> (if {namespace} is an organization)
      </p>
      <h2>Repositories</h2>
      {repos.isPending ? (
        <Loading />
      ) : repos.error ? (
        <ErrorText error={repos.error} />
      ) : (
        <>
          <RepoList repos={repos.data.items} empty="No repository here that you can see." />
          <Pager
            page={repos.data.page}
            pages={Math.max(1, Math.ceil(repos.data.total / repos.data.perPage))}
            onPage={setPage}
          />
        </>
      )}
    </section>
  );
}
