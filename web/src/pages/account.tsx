import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, reloadMe, unwrap, type Schemas } from '../api';
import { timeAgo } from '../lib/format';
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

function AccountNav() {
  return (
    <nav aria-label="Account" className="row wrap subnav">
      <Link to="/account">Profile and password</Link>
      <Link to="/account/api-keys">API keys</Link>
      <Link to="/account/sessions">Sessions</Link>
    </nav>
  );
}

export function AccountPage() {
  const user = useUser()!;
  const [saved, setSaved] = useState('');
  return (
    <section className="stack">
      <h1>Account</h1>
      <AccountNav />
      <dl className="facts">
        <dt>User name</dt>
        <dd>{user.username}</dd>
        <dt>Member since</dt>
        <dd>{new Date(user.createdAt).toLocaleDateString()}</dd>
        <dt>Role</dt>
        <dd>{user.isAdmin ? 'system administrator' : 'user'}</dd>
      </dl>
      <h2>Profile</h2>
      <ActionForm
        label="Profile"
        submitLabel="Save profile"
        onSubmit={async (f) => {
          const displayName = str(f, 'displayName');
          const email = str(f, 'email');
          unwrap(
            await api.PATCH('/api/v1/users/me', {
              body: { displayName: displayName || null, email: email || null },
            }),
          );
          await reloadMe();
          setSaved('Profile saved.');
        }}
      >
        <Field label="Display name">
          {(id) => (
            <input
              id={id}
              name="displayName"
              defaultValue={user.displayName ?? ''}
              maxLength={128}
            />
          )}
        </Field>
        <Field label="E-mail">
          {(id) => <input id={id} name="email" type="email" defaultValue={user.email ?? ''} />}
        </Field>
      </ActionForm>
      <h2>Change password</h2>
      <ActionForm
        label="Change password"
        submitLabel="Change password"
        onSubmit={async (f) => {
          if (str(f, 'newPassword') !== str(f, 'repeat'))
            throw new Error('The new passwords do not match.');
          unwrap(
            await api.PUT('/api/v1/users/me/password', {
              body: {
                currentPassword: String(f.get('currentPassword') ?? ''),
                newPassword: String(f.get('newPassword') ?? ''),
              },
            }),
          );
          setSaved('Password changed.');
        }}
      >
        <Field label="Current password">
          {(id) => (
            <input
              id={id}
              name="currentPassword"
              type="password"
              autoComplete="current-password"
              required
            />
          )}
        </Field>
        <Field label="New password" hint="At least 8 characters">
          {(id) => (
            <input
              id={id}
              name="newPassword"
              type="password"
              autoComplete="new-password"
              minLength={8}
              required
            />
          )}
        </Field>
        <Field label="Repeat the new password">
          {(id) => (
            <input
              id={id}
              name="repeat"
              type="password"
              autoComplete="new-password"
              minLength={8}
              required
            />
          )}
        </Field>
      </ActionForm>
      {saved && (
        <p role="status" className="notice">
          {saved}
        </p>
      )}
    </section>
  );
}

export function ApiKeysPage() {
  const client = useQueryClient();
  const [created, setCreated] = useState<Schemas['CreatedApiKeyDto'] | null>(null);
  const keys = useQuery({
    queryKey: ['api-keys'],
    queryFn: async () => unwrap(await api.GET('/api/v1/api-keys')),
  });
  return (
    <section className="stack">
      <h1>API keys</h1>
      <AccountNav />
      <p>
        An API key works wherever your password does: <code>docker login</code>, skopeo, the CLI and
        the API (<code>Authorization: Bearer ak_…</code>).
      </p>
      <ActionForm
        label="Create an API key"
        submitLabel="Create key"
        className="row wrap end-items"
        onSubmit={async (f) => {
          const expires = str(f, 'expires');
          const key = unwrap(
            await api.POST('/api/v1/api-keys', {
              body: {
                name: str(f, 'name'),
                ...(expires ? { expiresAt: new Date(`${expires}T23:59:59Z`).toISOString() } : {}),
              },
            }),
          );
          setCreated(key);
          await client.invalidateQueries({ queryKey: ['api-keys'] });
        }}
      >
        <Field label="Name">{(id) => <input id={id} name="name" required maxLength={100} />}</Field>
        <Field label="Expires (optional)">
          {(id) => <input id={id} name="expires" type="date" />}
        </Field>
      </ActionForm>
      {created && (
        <div className="notice stack" role="status">
          <p>
            <strong>Key “{created.name}” created.</strong> Copy it now: it is shown only once.
          </p>
          <CopyField label="New API key" value={created.key} />
          <div>
            <button type="button" className="secondary small" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      {keys.isPending ? (
        <Loading />
      ) : keys.error ? (
        <ErrorText error={keys.error} />
      ) : keys.data.length === 0 ? (
        <p className="muted">No API keys.</p>
      ) : (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Your API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id}>
                  <th scope="row">{k.name}</th>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{timeAgo(k.createdAt)}</td>
                  <td>{timeAgo(k.lastUsedAt)}</td>
                  <td>{k.expiresAt ? new Date(k.expiresAt).toLocaleDateString() : 'never'}</td>
                  <td>
                    <ConfirmButton
                      label="Revoke"
                      title={`Revoke the key “${k.name}”?`}
                      description="Everything using it stops working at once."
                      confirmLabel="Revoke key"
                      onConfirm={async () => {
                        unwrap(
                          await api.DELETE('/api/v1/api-keys/{id}', {
                            params: { path: { id: k.id } },
                          }),
                        );
                        await client.invalidateQueries({ queryKey: ['api-keys'] });
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function SessionsPage() {
  const client = useQueryClient();
  const sessions = useQuery({
    queryKey: ['sessions'],
    queryFn: async () =>
      unwrap(await api.GET('/api/v1/auth/sessions', { params: { query: { perPage: 100 } } })),
  });
  return (
    <section className="stack">
      <h1>Sessions</h1>
      <AccountNav />
      <p>
        Where you are signed in: this browser, the CLI and <code>docker login</code>.
      </p>
      {sessions.isPending ? (
        <Loading />
      ) : sessions.error ? (
        <ErrorText error={sessions.error} />
      ) : (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="visually-hidden">Your sessions</caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Client</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.items.map((s) => (
                <tr key={s.id}>
                  <th scope="row">
                    {s.kind === 'api' ? 'web or CLI' : 'registry login'}
                    {s.current && <span className="badge">this session</span>}
                  </th>
                  <td className="clamp">
                    {s.userAgent ?? 'unknown'}
                    {s.clientAddress && <span className="muted"> from {s.clientAddress}</span>}
                  </td>
                  <td>{timeAgo(s.createdAt)}</td>
                  <td>{timeAgo(s.lastUsedAt)}</td>
                  <td>
                    {!s.current && (
                      <ConfirmButton
                        label="End"
                        title="End this session?"
                        description="Its tokens stop working at once."
                        confirmLabel="End session"
                        onConfirm={async () => {
                          unwrap(
                            await api.DELETE('/api/v1/auth/sessions/{id}', {
                              params: { path: { id: s.id } },
                            }),
                          );
                          await client.invalidateQueries({ queryKey: ['sessions'] });
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
    </section>
  );
}
