import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { UsersService } from '../users/users.service.js';

/**
 * Creates the system administrator from ADMIN_USERNAME / ADMIN_PASSWORD when that user does not
 * exist yet (first start). An existing user is left untouched: the password in the environment
 * is not a way to reset it. There is no built-in default password.
 */
@Injectable()
export class AdminBootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly users: UsersService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
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
    const existing = await this.users.findByUsername(adminUsername);
    if (existing) {
      if (!existing.isAdmin) {
        this.logger.warn(
          `ADMIN_USERNAME "${adminUsername}" names an existing user who is not an administrator; left unchanged`,
        );
      }
      return;
    }
    try {
      await this.users.create(
        { username: adminUsername, password: adminPassword, isAdmin: true },
        { allowReserved: true },
      );
      this.logger.log(`System administrator "${adminUsername}" created`);
    } catch (e) {
      // Another node created it at the same moment, or an organization holds the name.
      if (e instanceof ConflictException) {
        if (!(await this.users.findByUsername(adminUsername))) {
          this.logger.error(
            `ADMIN_USERNAME "${adminUsername}" is taken by an organization; no administrator created`,
          );
        }
        return;
      }
      throw e;
    }
  }
}
