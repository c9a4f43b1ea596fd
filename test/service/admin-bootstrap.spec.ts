// Service tier: two nodes starting together on an empty database both bootstrap the system
// administrator. The one that loses the race must see the other's administrator and start, not
// mistake the half-read name for "repositories created under that name" and refuse to start.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { systemActor } from '../../src/common/actor.js';
import { TestHooks } from '../../src/common/test-hooks.js';
import type { AppConfig } from '../../src/config/config.js';
import { APP_CONFIG } from '../../src/config/config.module.js';
import {
  AdminBootstrapService,
  AdminConflictError,
} from '../../src/auth/admin-bootstrap.service.js';
import { NamespacesService } from '../../src/users/namespaces.service.js';
import { UsersService } from '../../src/users/users.service.js';
import { gate, type Services, startServices } from './support.js';

let s: Services;
let users: UsersService;
let hooks: TestHooks;

/** A bootstrap as a node configured with ADMIN_USERNAME=`name` runs it. */
function bootstrapFor(name: string): AdminBootstrapService {
  const config = s.app.get<AppConfig>(APP_CONFIG);
  const withAdmin = {
    ...config,
    auth: { ...config.auth, adminUsername: name, adminPassword: 'bootstrap-password-1' },
  } as AppConfig;
  return new AdminBootstrapService(users, s.get(NamespacesService), withAdmin, hooks);
}

beforeAll(async () => {
  s = await startServices();
  users = s.get(UsersService);
  hooks = s.get(TestHooks);
});

afterAll(async () => {
  await s?.close();
});

describe('administrator bootstrap', () => {
  it('another node creating the administrator between the two reads does not stop this node', async () => {
    const name = 'raceadmin';
    const g = gate();
    const unset = hooks.set('admin.bootstrap.read', g.wait);
    try {
      const starting = bootstrapFor(name).onApplicationBootstrap();
      await g.entered;
      // The other node commits its administrator while this one is between its reads.
      await users.create(
        { username: name, password: 'bootstrap-password-1', isAdmin: true },
        systemActor('admin-bootstrap'),
        { allowReserved: true },
      );
      unset();
      g.open();
      await expect(starting).resolves.toBeUndefined();
    } finally {
      unset();
    }
    const admin = await users.findByUsername(name);
    expect(admin?.isAdmin).toBe(true);
  });

  it('a name held by a user who is not an administrator still stops start-up', async () => {
    await users.create({ username: 'plainuser', password: 'plain-password-1' }, systemActor('t'));
    await expect(bootstrapFor('plainuser').onApplicationBootstrap()).rejects.toBeInstanceOf(
      AdminConflictError,
    );
  });

  it('on an empty database it creates the administrator, and a second start leaves it as it is', async () => {
    await bootstrapFor('firstadmin').onApplicationBootstrap();
    const created = await users.findByUsername('firstadmin');
    expect(created?.isAdmin).toBe(true);
    await bootstrapFor('firstadmin').onApplicationBootstrap();
    expect((await users.findByUsername('firstadmin'))?.id).toBe(created?.id);
  });
});
