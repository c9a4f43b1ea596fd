import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, useEffect, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import {
  BrowserRouter,
  Link,
  Navigate,
  NavLink,
  Route,
  Routes,
  useLocation,
  useNavigate,
} from 'react-router';
import { ApiError, resumeSession, signOut } from './api';
import { useSession } from './ui';
import { AccountPage, ApiKeysPage, SessionsPage } from './pages/account';
import { AdminUsersPage } from './pages/admin';
import { HomePage, NamespacePage, SearchPage } from './pages/home';
import { OrgPage, OrgsPage, TeamPage } from './pages/orgs';
import { ManifestPage, RepositoryPage, RepositorySettingsPage } from './pages/repository';
import { RegisterPage, SignInPage } from './pages/sign-in';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
    },
  },
  queryCache: new QueryCache(),
  mutationCache: new MutationCache(),
});

/** Pages that need a user: signed out, they go to sign-in and come back here afterwards. */
function RequireUser({ children }: { children: ReactNode }) {
  const s = useSession();
  const loc = useLocation();
  if (s.status === 'loading') return null;
  if (s.status === 'signed-out') {
    const next = loc.pathname + loc.search;
    return (
      <Navigate
        to={`/sign-in?next=${encodeURIComponent(next)}${s.expired ? '&expired=1' : ''}`}
        replace
      />
    );
  }
  return <>{children}</>;
}

function Header() {
  const s = useSession();
  const navigate = useNavigate();
  const [q, setQ] = useState('');
  const [menu, setMenu] = useState(false);
  const loc = useLocation();
  useEffect(() => setMenu(false), [loc.pathname]);
  return (
    <header className="top">
      <div className="top-inner">
        <Link to="/" className="brand" aria-label="Aerugo home">
          <img src="/favicon.svg" alt="" width="24" height="24" /> Aerugo
        </Link>
        <form
          role="search"
          className="top-search"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(`/search?q=${encodeURIComponent(q)}`);
          }}
        >
          <label htmlFor="top-search" className="visually-hidden">
            Search repositories, users and organizations
          </label>
          <input
            id="top-search"
            type="search"
            placeholder="Search…"
            value={q}
            onChange={(e) => setQ(e.target.value)}
          />
        </form>
        <button
          type="button"
          className="secondary small menu-toggle"
          aria-expanded={menu}
          aria-controls="main-nav"
          onClick={() => setMenu(!menu)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={menu ? 'open' : ''}>
          {s.status === 'signed-in' ? (
            <>
              <NavLink to="/orgs">Organizations</NavLink>
              <NavLink to="/account">Account</NavLink>
              <NavLink to="/account/api-keys">API keys</NavLink>
              {s.user.isAdmin && <NavLink to="/admin/users">Administration</NavLink>}
              <button
                type="button"
                className="link"
                onClick={() => {
                  void signOut().then(() => {
                    queryClient.clear();
                    navigate('/sign-in');
                  });
                }}
              >
                Sign out <span className="muted">&nbsp;({s.user.username})</span>
              </button>
            </>
          ) : s.status === 'signed-out' ? (
            <>
              <NavLink to="/sign-in">Sign in</NavLink>
              <NavLink to="/register">Register</NavLink>
            </>
          ) : null}
        </nav>
      </div>
    </header>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to the start page</Link>
      </p>
    </section>
  );
}

function App() {
  const s = useSession();
  useEffect(() => {
    void resumeSession();
  }, []);
  const user = (el: ReactNode) => <RequireUser>{el}</RequireUser>;
  return (
    <>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <Header />
      <main id="main" tabIndex={-1}>
        {s.status === 'loading' ? null : (
          <Routes>
            <Route path="/" element={<HomePage />} />
            <Route path="/sign-in" element={<SignInPage />} />
            <Route path="/register" element={<RegisterPage />} />
            <Route path="/search" element={<SearchPage />} />
            <Route path="/ns/:namespace" element={<NamespacePage />} />
            <Route path="/repo/*" element={<RepoRoutes />} />
            <Route path="/orgs" element={user(<OrgsPage />)} />
            <Route path="/orgs/:org" element={<OrgPage />} />
            <Route path="/orgs/:org/teams/:team" element={user(<TeamPage />)} />
            <Route path="/account" element={user(<AccountPage />)} />
            <Route path="/account/api-keys" element={user(<ApiKeysPage />)} />
            <Route path="/account/sessions" element={user(<SessionsPage />)} />
            <Route path="/admin/users" element={user(<AdminUsersPage />)} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        )}
      </main>
    </>
  );
}

/** /repo/NS/NAME, /repo/NS/NAME/-/settings, /repo/NS/NAME/-/manifest/REF. */
function RepoRoutes() {
  const loc = useLocation();
  const rest = decodeURIComponent(loc.pathname.slice('/repo/'.length));
  const [repo, extra = ''] = rest.split('/-/', 2);
  const full = repo.replace(/\/+$/, '');
  if (extra === 'settings')
    return (
      <RequireUser>
        <RepositorySettingsPage full={full} />
      </RequireUser>
    );
  if (extra.startsWith('manifest/'))
    return <ManifestPage full={full} reference={extra.slice('manifest/'.length)} />;
  return <RepositoryPage full={full} />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
