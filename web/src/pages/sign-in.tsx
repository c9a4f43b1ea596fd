import { useEffect, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, signIn, unwrap } from '../api';
import { safeReturnTo } from '../lib/format';
import { ErrorText, Field } from '../ui';

export function SignInPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = safeReturnTo(params.get('next'));
  const [sso, setSso] = useState<string | null>(null);
  useEffect(() => {
    api.GET('/api/v1/auth/oidc').then(
      (r) => setSso(r.data?.enabled && r.data.loginUrl ? r.data.loginUrl : null),
      () => setSso(null),
    );
  }, []);
  return (
    <section className="narrow">
      <h1>Sign in</h1>
      {sso && (
        <p>
          <a className="button" href={`${sso}?returnTo=${encodeURIComponent(next)}`}>
            Sign in with SSO
          </a>
        </p>
      )}
      {params.get('expired') && (
        <p className="notice" role="status">
          Your session has ended. Sign in again to go on where you were.
        </p>
      )}
      <form
        className="stack"
        aria-label="Sign in"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          setBusy(true);
          setError(null);
          signIn(String(f.get('username') ?? '').trim(), String(f.get('password') ?? '')).then(
            () => navigate(next, { replace: true }),
            (err: unknown) => {
              setBusy(false);
              setError(err);
            },
          );
        }}
      >
        <Field label="User name">
          {(id) => <input id={id} name="username" autoComplete="username" required autoFocus />}
        </Field>
        <Field label="Password">
          {(id) => (
            <input
              id={id}
              name="password"
              type="password"
              autoComplete="current-password"
              required
            />
          )}
        </Field>
        <ErrorText error={error} />
        <div>
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </div>
      </form>
      <p>
        No account yet? <Link to={`/register?next=${encodeURIComponent(next)}`}>Register</Link>
      </p>
    </section>
  );
}

export function RegisterPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = safeReturnTo(params.get('next'));
  return (
    <section className="narrow">
      <h1>Register</h1>
      <form
        className="stack"
        aria-label="Register"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const username = String(f.get('username') ?? '').trim();
          const password = String(f.get('password') ?? '');
          const email = String(f.get('email') ?? '').trim();
          setBusy(true);
          setError(null);
          api
            .POST('/api/v1/auth/register', {
              body: { username, password, ...(email ? { email } : {}) },
            })
            .then(unwrap)
            .then(() => signIn(username, password))
            .then(
              () => navigate(next, { replace: true }),
              (err: unknown) => {
                setBusy(false);
                setError(err);
              },
            );
        }}
      >
        <Field label="User name" hint="Lower-case letters, digits and . _ - ; also your namespace">
          {(id) => <input id={id} name="username" autoComplete="username" required />}
        </Field>
        <Field label="E-mail (optional)">
          {(id) => <input id={id} name="email" type="email" autoComplete="email" />}
        </Field>
        <Field label="Password" hint="At least 8 characters">
          {(id) => (
            <input
              id={id}
              name="password"
              type="password"
              autoComplete="new-password"
              minLength={8}
              required
            />
          )}
        </Field>
        <ErrorText error={error} />
        <div>
          <button type="submit" disabled={busy}>
            Create account
          </button>
        </div>
      </form>
      <p>
        Have an account? <Link to={`/sign-in?next=${encodeURIComponent(next)}`}>Sign in</Link>
      </p>
    </section>
  );
}
