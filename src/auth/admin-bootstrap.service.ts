import { systemActor } from '../common/actor.js';
import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { TestHooks } from '../common/test-hooks.js';
import { NamespacesService } from '../users/namespaces.service.js';
import { UsersService } from '../users/users.service.js';

/** ADMIN_USERNAME names something that is not the administrator: start-up stops with this. */
export class AdminConflictError extends Error {}

/**
 * Creates the system administrator from ADMIN_USERNAME / ADMIN_PASSWORD when that user does not
 * exist yet (first start). An existing administrator is left untouched: the password in the
 * environment is not a way to reset it. There is no built-in default password.
 *
 * When the name is held by something else — a user who is not an administrator, an organization,
 * or repositories an administrator created under a name nobody held — the node refuses to start,
 * naming the conflict: running on would leave the operator without the administrator they asked
 * for (or hand the name's owner a surprise promotion). System names such as `admin` are reserved
 * (names.ts) so that nobody can register them before the administrator exists.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly users: UsersService,
    private readonly namespaces: NamespacesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly hooks: TestHooks,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { adminUsername, adminPassword } = this.config.auth;
    if (!adminUsername || !adminPassword) {
      if (!(await this.users.hasAdmin())) {
        this.logger.warn(
          'No system administrator exists; set ADMIN_USERNAME and ADMIN_PASSWORD to create one',
        );
      }
      return;
    }
    if (await this.checkExisting(adminUsername)) return;
    try {
      await this.users.create(
        { username: adminUsername, password: adminPassword, isAdmin: true },
        systemActor('admin-bootstrap'),
        { allowReserved: true },
      );
      this.logger.log(`System administrator "${adminUsername}" created`);
    } catch (e) {
      // Another node created it at the same moment, or something else took the name meanwhile.
      if (!(e instanceof ConflictException)) throw e;
      if (!(await this.checkExisting(adminUsername))) throw e;
    }
  }

  /** True when the administrator exists; throws when the name is held by anything else. */
  private async checkExisting(name: string): Promise<boolean> {
    // The namespace row is read before the user row. Both are written in one transaction, so when
    // another node creates the administrator between the two reads, the user read sees it; read the
    // other way round, a user that is not there yet and a name that is held by then would look like
    // "repositories created under that name" and stop a node that is starting beside the first.
    const kind = await this.namespaces.kindOf(name);
    await this.hooks.at('admin.bootstrap.read');
    const existing = await this.users.findByUsername(name);
    if (existing?.isAdmin) {
      if (!existing.active)
        this.logger.warn(`System administrator "${name}" is deactivated; left unchanged`);
      return true;
    }
    const advice = 'choose another ADMIN_USERNAME';
    if (existing) {
      throw new AdminConflictError(
        `ADMIN_USERNAME "${name}" names an existing user who is not a system administrator; ` +
          `refusing to start: promote "${name}" through the API with an administrator's ` +
          `credentials (PATCH /api/v1/users/${name} {"isAdmin": true}), or ${advice}`,
      );
    }
    if (kind === 'org') {
      throw new AdminConflictError(
        `ADMIN_USERNAME "${name}" is the name of an organization; refusing to start: ${advice}`,
      );
    }
    if (kind !== null) {
      throw new AdminConflictError(
        `ADMIN_USERNAME "${name}" is held by repositories created under that name; refusing to start: ${advice}`,
      );
    }
    return false;
  }
}
