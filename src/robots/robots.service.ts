import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ApiKeysService } from '../api-keys/api-keys.service.js';
import type { UserPrincipal } from '../auth/principal.js';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import type { Actor } from '../common/actor.js';
import { isPgError } from '../database/db-errors.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { AccessFactsService, ownEntry } from '../repos/access-facts.service.js';
import type { PatternGrant } from '../repos/permissions.js';
import { normalizeName } from '../users/names.js';
import type { CreateRobotDto, RobotDto, UpdateRobotDto } from './dto/robots.dto.js';
import { RobotEntity } from './robot.entity.js';
import { normalizeRobotGrants, robotFullName, robotUsable } from './robot-rules.js';

/** What authentication needs to know about one robot (cached per namespace, see CacheKeys). */
export interface RobotFacts {
  id: string;
  name: string;
  namespace: string;
  grants: PatternGrant[];
  disabled: boolean;
  /** Epoch milliseconds, or null. */
  expiresAt: number | null;
}

type CachedRobots = Record<string, Omit<RobotFacts, 'id' | 'namespace'>>;

/**
 * Robot accounts: machine accounts of a namespace, managed by its administrators (the user
 * themself, an organization's owners and admins, system administrators). A robot holds no name
 * in the shared namespace table, owns nothing and has no organization role; it acts only through
 * its grants, with its API key.
 */
@Injectable()
export class RobotsService implements OnModuleInit {
  private readonly logger = new Logger('Robots');

  constructor(
    @InjectRepository(RobotEntity) private readonly robots: Repository<RobotEntity>,
    private readonly apiKeys: ApiKeysService,
    private readonly facts: AccessFactsService,
    private readonly cache: CacheService,
    private readonly cacheKeys: CacheKeys,
    private readonly events: EventsService,
  ) {}

  onModuleInit(): void {
    // Deleting a namespace deletes its robots (and their keys) with it.
    this.events.on('org.deleted', (e) => this.forget(e.payload.name));
    this.events.on('user.deleted', (e) => this.forget(e.payload.username));
    for (const name of ['robot.created', 'robot.updated', 'robot.deleted'] as const)
      this.events.on(name, (e) => this.forget(e.payload.namespace));
  }

  private forget(namespace: string): Promise<void> {
    return this.cache.invalidate(this.cacheKeys.robotsOf(namespace));
  }

  /** The namespace (normalised) when the caller administers it; 404 or 403 otherwise. */
  private async administered(caller: UserPrincipal, raw: string): Promise<string> {
    const namespace = normalizeName(raw);
    const { standing } = await this.facts.namespaceStandingOf(caller, namespace);
    if (standing === 'unknown') throw new NotFoundException(`namespace "${namespace}" not found`);
    if (standing !== 'admin')
      throw new ForbiddenException(`only the administrators of "${namespace}" manage its robots`);
    return namespace;
  }

  private grantsOf(
    namespace: string,
    grants: readonly { repository: string; level: string }[],
  ): PatternGrant[] {
    const checked = normalizeRobotGrants(namespace, grants);
    if (!checked.ok) throw new BadRequestException(checked.message);
    return checked.grants;
  }

  private static future(d: Date | null | undefined): void {
    if (d && d.getTime() <= Date.now())
      throw new BadRequestException('expiresAt must be in the future');
  }

  private async find(namespace: string, name: string): Promise<RobotEntity> {
    const robot = await this.robots.findOne({ where: { namespace, name: normalizeName(name) } });
    if (!robot) throw new NotFoundException(`robot "${robotFullName(namespace, name)}" not found`);
    return robot;
  }

  private static dto(r: RobotEntity, lastUsedAt: Date | null): RobotDto {
    return {
      id: r.id,
      name: r.name,
      fullName: robotFullName(r.namespace, r.name),
      namespace: r.namespace,
      description: r.description,
      grants: r.grants,
      disabled: r.disabled,
      expiresAt: r.expiresAt,
      createdAt: r.createdAt,
      lastUsedAt,
    };
  }

  async create(
    caller: UserPrincipal,
    rawNamespace: string,
    body: CreateRobotDto,
    by: Actor,
  ): Promise<{ robot: RobotDto; secret: string }> {
    const namespace = await this.administered(caller, rawNamespace);
    const grants = this.grantsOf(namespace, body.grants);
    RobotsService.future(body.expiresAt);
    const name = normalizeName(body.name);
    try {
      const { robot, secret } = await this.events.transaction(async (m) => {
        const saved = await m.save(
          m.create(RobotEntity, {
            namespace,
            name,
            description: body.description ?? null,
            grants,
            disabled: false,
            expiresAt: body.expiresAt ?? null,
            createdBy: caller.userId,
          }),
        );
        const key = await this.apiKeys.createForRobot(m, saved.id, robotFullName(namespace, name));
        await this.events.record(
          m,
          event('robot.created', by, { robotId: saved.id, namespace, name }),
        );
        return { robot: saved, secret: key.secret };
      });
      this.logger.log(`robot ${robotFullName(namespace, name)} created`);
      return { robot: RobotsService.dto(robot, null), secret };
    } catch (e) {
      if (isPgError(e, '23505'))
        throw new ConflictException(`robot "${robotFullName(namespace, name)}" already exists`);
      throw e;
    }
  }

  async list(caller: UserPrincipal, rawNamespace: string): Promise<RobotDto[]> {
    const namespace = await this.administered(caller, rawNamespace);
    const rows = await this.robots.find({ where: { namespace }, order: { name: 'ASC' } });
    const used = await this.apiKeys.lastUseOfRobots(rows.map((r) => r.id));
    return rows.map((r) => RobotsService.dto(r, used.get(r.id) ?? null));
  }

  async update(
    caller: UserPrincipal,
    rawNamespace: string,
    name: string,
    body: UpdateRobotDto,
    by: Actor,
  ): Promise<RobotDto> {
    const namespace = await this.administered(caller, rawNamespace);
    const robot = await this.find(namespace, name);
    const fields: string[] = [];
    if (body.grants !== undefined) {
      robot.grants = this.grantsOf(namespace, body.grants);
      fields.push('grants');
    }
    if (body.disabled !== undefined) {
      robot.disabled = body.disabled;
      fields.push('disabled');
    }
    if (body.expiresAt !== undefined) {
      RobotsService.future(body.expiresAt);
      robot.expiresAt = body.expiresAt;
      fields.push('expiresAt');
    }
    if (body.description !== undefined) {
      robot.description = body.description;
      fields.push('description');
    }
    await this.events.transaction(async (m) => {
      await m.update(
        RobotEntity,
        { id: robot.id },
        {
          grants: robot.grants,
          disabled: robot.disabled,
          expiresAt: robot.expiresAt,
          description: robot.description,
        },
      );
      await this.events.record(
        m,
        event('robot.updated', by, { robotId: robot.id, namespace, name: robot.name, fields }),
      );
    });
    const used = await this.apiKeys.lastUseOfRobots([robot.id]);
    return RobotsService.dto(robot, used.get(robot.id) ?? null);
  }

  async remove(
    caller: UserPrincipal,
    rawNamespace: string,
    name: string,
    by: Actor,
  ): Promise<void> {
    const namespace = await this.administered(caller, rawNamespace);
    const robot = await this.find(namespace, name);
    await this.events.transaction(async (m) => {
      // Its keys go with it: named in the event (ApiKeysService forgets them when delivered).
      const keys = await this.apiKeys.keysOfRobot(m, robot.id);
      await m.delete(RobotEntity, { id: robot.id });
      await this.events.record(
        m,
        event('robot.deleted', by, {
          robotId: robot.id,
          namespace,
          name: robot.name,
          apiKeyIds: keys.map((k) => k.id),
          apiKeyHashes: keys.map((k) => k.hash),
        }),
      );
    });
    this.logger.log(`robot ${robotFullName(namespace, robot.name)} deleted`);
  }

  /** The robot when it exists, is enabled and unexpired (from cached facts). */
  async usable(robotId: string, namespace: string): Promise<RobotFacts | null> {
    const all = await this.cache.getOrLoad<CachedRobots>(
      this.cacheKeys.robotsOf(namespace),
      async () => {
        const rows = await this.robots.find({ where: { namespace } });
        return Object.fromEntries(
          rows.map((r) => [
            r.id,
            {
              name: r.name,
              grants: r.grants,
              disabled: r.disabled,
              expiresAt: r.expiresAt?.getTime() ?? null,
            },
          ]),
        );
      },
    );
    const robot = all ? ownEntry(all, robotId) : undefined;
    return robot && robotUsable(robot) ? { id: robotId, namespace, ...robot } : null;
  }
}
