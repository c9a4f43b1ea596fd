import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../api';
import { timeAgo } from '../lib/format';
import { ActionForm, ErrorText, Field, FormDialogButton, Loading, str, useUser } from '../ui';
import { Pager } from './home';

export function AdminUsersPage() {
  const me = useUser()!;
  const client = useQueryClient();
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const users = useQuery({
    queryKey: ['admin-users', q, page],
    enabled: me.isAdmin === true,
    queryFn: async () =>
      unwrap(
        await api.GET('/api/v1/users', {
          params: { query: { page, perPage: 50, ...(q ? { q } : {}) } },
        }),
      ),
  });
  if (!me.isAdmin)
    return (
      <section>
        <h1>Administration</h1>
        <p className="error" role="alert">
          Only system administrators can see this page.
        </p>
      </section>
    );
  const update = async (
    username: string,
    body: { active?: boolean; isAdmin?: boolean; password?: string },
    done: string,
  ) => {
    setError(null);
    setNotice('');
    try {
      unwrap(await api.PATCH('/api/v1/users/{username}', { params: { path: { username } }, body }));
      setNotice(done);
      await client.invalidateQueries({ queryKey: ['admin-users'] });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section className="stack">
      <h1>Users</h1>
      <div className="row wrap">
        <label htmlFor="user-filter" className="visually-hidden">
          Find users
        </label>
        <input
          id="user-filter"
          type="search"
          placeholder="Find users"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
            setPage(1);
          }}
        />
      </div>
      <ErrorText error={error} />
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {users.isPending ? (
        <Loading />
      ) : users.error ? (
        <ErrorText error={users.error} />
      ) : (
        <>
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption className="visually-hidden">Users</caption>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">E-mail</th>
                  <th scope="col">Created</th>
                  <th scope="col">Status</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {users.data.items.map((u) => (
                  <tr key={u.username}>
                    <th scope="row">
                      {u.username}
                      {u.isAdmin && <span className="badge">admin</span>}
                    </th>
                    <td>{u.email ?? '–'}</td>
                    <td>{timeAgo(u.createdAt)}</td>
                    <td>{u.active === false ? 'disabled' : 'active'}</td>
                    <td className="row wrap">
                      <button
                        type="button"
                        className="secondary small"
                        disabled={u.username === me.username}
                        onClick={() =>
                          void update(
                            u.username,
                            { active: u.active === false },
                            `${u.username} ${u.active === false ? 'enabled' : 'disabled'}.`,
                          )
                        }
                      >
                        {u.active === false ? 'Enable' : 'Disable'}
                      </button>
                      <button
                        type="button"
                        className="secondary small"
                        disabled={u.username === me.username}
                        onClick={() =>
                          void update(
                            u.username,
                            { isAdmin: !u.isAdmin },
                            `${u.username} is ${u.isAdmin ? 'no longer' : 'now'} an administrator.`,
                          )
                        }
                      >
                        {u.isAdmin ? 'Demote' : 'Promote'}
                      </button>
                      <FormDialogButton
                        label="Reset password"
                        title={`Reset the password of ${u.username}`}
                        description="Their sessions end; tell them the new password."
                        submitLabel="Set password"
                        onSubmit={async (f) => {
                          unwrap(
                            await api.PATCH('/api/v1/users/{username}', {
                              params: { path: { username: u.username } },
                              body: { password: String(f.get('password') ?? '') },
                            }),
                          );
                          setNotice(`Password of ${u.username} reset.`);
                        }}
                      >
                        <Field label="New password" hint="At least 8 characters">
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
                      </FormDialogButton>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            page={users.data.page}
            pages={Math.max(1, Math.ceil(users.data.total / users.data.perPage))}
            onPage={setPage}
          />
        </>
      )}
      <h2>Create a user</h2>
      <ActionForm
        label="Create a user"
        submitLabel="Create user"
        onSubmit={async (f) => {
          const email = str(f, 'email');
          unwrap(
            await api.POST('/api/v1/users', {
              body: {
                username: str(f, 'username'),
                password: String(f.get('password') ?? ''),
                isAdmin: f.get('isAdmin') === 'on',
                ...(email ? { email } : {}),
              },
            }),
          );
          await client.invalidateQueries({ queryKey: ['admin-users'] });
        }}
      >
        <Field label="User name">{(id) => <input id={id} name="username" required />}</Field>
        <Field label="E-mail (optional)">
          {(id) => <input id={id} name="email" type="email" />}
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
        <label className="check">
          <input type="checkbox" name="isAdmin" /> System administrator
        </label>
      </ActionForm>
    </section>
  );
}
