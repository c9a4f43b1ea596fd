import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, In, Repository } from 'typeorm';
import { CacheKeys } from '../cache/cache-keys.js';
import { CacheService } from '../cache/cache.service.js';
import type { Actor } from '../common/actor.js';
import { apiError } from '../common/api-error.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { isPgError, PG_UNIQUE_VIOLATION } from '../database/db-errors.js';

import { escapeLike } from '../database/like.js';
import { checkNamespaceName, normalizeName } from '../users/names.js';
import { NamespacesService } from '../users/namespaces.service.js';
import type { UserEntity } from '../users/user.entity.js';
import { type UserDeletionCheck, UsersService } from '../users/users.service.js';
import {
  OrganizationEntity,
  OrganizationMemberEntity,
  type OrgRole,
  TeamEntity,
  TeamMemberEntity,
} from './org.entities.js';

/** Who acts on an organization; system administrators act as owners everywhere. */
export interface OrgActor {
  userId: string;
  isAdmin: boolean;
}

export interface OrgMember {
  user: UserEntity;
  role: OrgRole;
  since: Date;
}

/** A team membership of a user, for permission resolution. */
export interface UserTeam {
  teamId: string;
  organizationId: string;
  canCreateRepositories: boolean;
}

const RANK: Record<OrgRole, number> = { member: 1, admin: 2, owner: 3 };

@Injectable()
export class OrgsService implements OnModuleInit, UserDeletionCheck {
  private readonly logger = new Logger('Orgs');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(OrganizationEntity) private readonly orgs: Repository<OrganizationEntity>,
    @InjectRepository(OrganizationMemberEntity)
    private readonly members: Repository<OrganizationMemberEntity>,
    @InjectRepository(TeamEntity) private readonly teams: Repository<TeamEntity>,
    @InjectRepository(TeamMemberEntity) private readonly teamMembers: Repository<TeamMemberEntity>,
    private readonly users: UsersService,
    private readonly namespaces: NamespacesService,
    private readonly cache: CacheService,
    private readonly cacheKeys: CacheKeys,
    private readonly events: EventsService,
  ) {}

  /**
   * A change of memberships drops the cached roles and teams of the users it touches once it
   * committed: a membership event names its user, a creation its owner, a deletion every member
   * that went with it; a team's change of `canCreateRepositories` touches its members as they are
   * after the commit (one added since recorded its own event).
   */
  onModuleInit(): void {
    this.users.addDeletionCheck(this);
    for (const name of [
      'org.member.added',
      'org.member.updated',
      'org.member.removed',
      'team.member.added',
      'team.member.removed',
    ] as const)
      this.events.on(name, (e) => this.forgetUsers([e.payload.userId]));
    this.events.on('org.created', (e) =>
      this.forgetUsers(e.payload.ownerId ? [e.payload.ownerId] : []),
    );
    for (const name of ['org.deleted', 'team.deleted'] as const)
      this.events.on(name, (e) => this.forgetUsers(e.payload.memberIds ?? []));
    this.events.on('team.updated', async (e) => {
      if (!e.payload.fields?.includes('canCreateRepositories')) return;
      const members = await this.teamMembers.find({ where: { teamId: e.payload.teamId } });
      await this.forgetUsers(members.map((mb) => mb.userId));
    });
  }

  /** Drops the cached roles and teams of these users (after a membership change committed). */
  private async forgetUsers(userIds: string[]): Promise<void> {
    await this.cache.invalidate(...[...new Set(userIds)].map((id) => this.cacheKeys.userFacts(id)));
  }

  // ---- organizations -------------------------------------------------------------------------

  /** Creates an organization; the creator becomes its owner. */
  async create(
    rawName: string,
    input: { displayName?: string | null; description?: string | null },
    creator: OrgActor,
    by: Actor,
  ): Promise<OrganizationEntity> {
    const check = checkNamespaceName(rawName);
    if (!check.ok) {
      if (check.reason === 'reserved') throw apiError(409, 'NAME_RESERVED', check.message);
      throw new BadRequestException(check.message);
    }
    const org = await this.events.transaction(async (m) => {
      await this.namespaces.reserve(m, check.name, 'org');
      const saved = await m.save(
        m.create(OrganizationEntity, {
          name: check.name,
          displayName: input.displayName ?? null,
          description: input.description ?? null,
        }),
      );
      await m.insert(OrganizationMemberEntity, {
        organizationId: saved.id,
        userId: creator.userId,
        role: 'owner',
      });
      await this.events.record(
        m,
        event('org.created', by, {
          organizationId: saved.id,
          name: saved.name,
          ownerId: creator.userId,
        }),
      );
      return saved;
    });
    this.logger.log(`organization "${org.name}" created`);
    return org;
  }

  findByName(name: string): Promise<OrganizationEntity | null> {
    return this.orgs.findOne({ where: { name: normalizeName(name) } });
  }

  async requireByName(name: string): Promise<OrganizationEntity> {
    const org = await this.findByName(name);
    if (!org) throw new NotFoundException(`organization "${normalizeName(name)}" not found`);
    return org;
  }

  async findByIds(ids: string[]): Promise<OrganizationEntity[]> {
    if (!ids.length) return [];
    return this.orgs.find({ where: { id: In([...new Set(ids)]) } });
  }

  async roleOf(organizationId: string, userId: string): Promise<OrgRole | null> {
    const row = await this.members.findOne({ where: { organizationId, userId } });
    return row?.role ?? null;
  }

  /** The caller's effective role: system administrators count as owners. */
  async actorRole(org: OrganizationEntity, actor: OrgActor): Promise<OrgRole | null> {
    if (actor.isAdmin) return 'owner';
    return this.roleOf(org.id, actor.userId);
  }

  private async requireRole(
    org: OrganizationEntity,
    actor: OrgActor,
    min: OrgRole,
  ): Promise<OrgRole> {
    const role = await this.actorRole(org, actor);
    if (!role || RANK[role] < RANK[min]) {
      throw new ForbiddenException(
        `only ${min === 'member' ? 'members' : `${min}s`} of "${org.name}" may do this`,
      );
    }
    return role;
  }

  /** Organization names and roles of every organization the user belongs to. */
  async membershipsOf(
    userId: string,
  ): Promise<{ organizationId: string; name: string; role: OrgRole }[]> {
    const rows = await this.members.find({ where: { userId } });
    if (!rows.length) return [];
    const orgs = new Map(
      (await this.findByIds(rows.map((r) => r.organizationId))).map((o) => [o.id, o]),
    );
    return rows
      .filter((r) => orgs.has(r.organizationId))
      .map((r) => ({
        organizationId: r.organizationId,
        name: orgs.get(r.organizationId)!.name,
        role: r.role,
      }));
  }

  /**
   * The organizations the actor belongs to, with their role, in name order; every organization
   * for system administrators (as owners, like `actorRole`). `q` filters by name or display name.
   */
  async listFor(
    actor: OrgActor,
    opts: { q?: string; page: number; perPage: number },
  ): Promise<{ items: { org: OrganizationEntity; role: OrgRole }[]; total: number }> {
    const qb = this.orgs.createQueryBuilder('o');
    if (!actor.isAdmin)
      qb.innerJoin(OrganizationMemberEntity, 'm', 'm.organization_id = o.id AND m.user_id = :uid', {
        uid: actor.userId,
      });
    const q = opts.q?.trim().toLowerCase();
    if (q) {
      qb.andWhere('(o.name LIKE :p OR lower(o.display_name) LIKE :p)', { p: `%${escapeLike(q)}%` });
    }
    const [orgs, total] = await qb
      .orderBy('o.name', 'ASC')
      .offset((opts.page - 1) * opts.perPage)
      .limit(opts.perPage)
      .getManyAndCount();
    const roles = new Map<string, OrgRole>();
    if (!actor.isAdmin && orgs.length) {
      const rows = await this.members.find({
        where: { userId: actor.userId, organizationId: In(orgs.map((o) => o.id)) },
      });
      for (const r of rows) roles.set(r.organizationId, r.role);
    }
    return {
      items: orgs.map((org) => ({ org, role: actor.isAdmin ? 'owner' : roles.get(org.id)! })),
      total,
    };
  }

  async update(
    name: string,
    input: { displayName?: string | null; description?: string | null },
    actor: OrgActor,
    by: Actor,
  ): Promise<OrganizationEntity> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'admin');
    if (input.displayName !== undefined) org.displayName = input.displayName;
    if (input.description !== undefined) org.description = input.description;
    return this.events.transaction(async (m) => {
      const saved = await m.save(org);
      await this.events.record(
        m,
        event('org.updated', by, { organizationId: org.id, name: org.name }),
      );
      return saved;
    });
  }

  /** Deletes an organization (owners); 409 while repositories still live under its name. */
  async delete(name: string, actor: OrgActor, by: Actor): Promise<void> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'owner');
    await this.events.transaction(async (m) => {
      // Members and teams go with the organization. The row lock holds off members being added
      // meanwhile, so that the event names every user whose cached roles change.
      await m.query('SELECT id FROM organizations WHERE id = $1 FOR UPDATE', [org.id]);
      const rows = await m.find(OrganizationMemberEntity, { where: { organizationId: org.id } });
      await m.delete(OrganizationEntity, { id: org.id });
      await this.namespaces.release(m, org.name);
      await this.events.record(
        m,
        event('org.deleted', by, {
          organizationId: org.id,
          name: org.name,
          memberIds: rows.map((r) => r.userId),
        }),
      );
    });
    this.logger.log(`organization "${org.name}" deleted`);
  }

  async memberCount(organizationId: string): Promise<number> {
    return this.members.count({ where: { organizationId } });
  }

  // ---- members -------------------------------------------------------------------------------

  async listMembers(name: string, actor: OrgActor): Promise<OrgMember[]> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'member');
    const rows = await this.members.find({ where: { organizationId: org.id } });
    const users = new Map(
      (await this.users.findByIds(rows.map((r) => r.userId))).map((u) => [u.id, u]),
    );
    return rows
      .filter((r) => users.has(r.userId))
      .map((r) => ({ user: users.get(r.userId)!, role: r.role, since: r.createdAt }))
      .sort((a, b) => (a.user.username < b.user.username ? -1 : 1));
  }

  /** Only owners may hand out or take away ownership. */
  private assertMayAssign(actorRole: OrgRole, from: OrgRole | null, to: OrgRole | null): void {
    if (actorRole !== 'owner' && (from === 'owner' || to === 'owner')) {
      throw new ForbiddenException('only owners may grant or change the owner role');
    }
  }

  /**
   * Locks the organization's row for the rest of the transaction. Every change of a membership
   * or role that could take away an owner runs under this lock and checks the owners only after
   * taking it, so two owners removing or demoting each other at once are serialized and the
   * second finds that the other is now the last owner. Returns false when the organization is gone.
   */
  private async lockOrg(m: EntityManager, organizationId: string): Promise<boolean> {
    const rows: unknown[] = await m.query('SELECT id FROM organizations WHERE id = $1 FOR UPDATE', [
      organizationId,
    ]);
    return rows.length > 0;
  }

  /** The actor's role, read inside the caller's transaction (after lockOrg). */
  private async roleIn(
    m: EntityManager,
    org: OrganizationEntity,
    actor: OrgActor,
    min: OrgRole,
  ): Promise<OrgRole> {
    const role = actor.isAdmin
      ? 'owner'
      : ((
          await m.findOne(OrganizationMemberEntity, {
            where: { organizationId: org.id, userId: actor.userId },
          })
        )?.role ?? null);
    if (!role || RANK[role] < RANK[min]) {
      throw new ForbiddenException(
        `only ${min === 'member' ? 'members' : `${min}s`} of "${org.name}" may do this`,
      );
    }
    return role;
  }

  private async assertNotLastOwner(
    m: EntityManager,
    organizationId: string,
    userId: string,
  ): Promise<void> {
    const owners = await m.find(OrganizationMemberEntity, {
      where: { organizationId, role: 'owner' },
    });
    if (!owners.some((o) => o.userId !== userId)) {
      throw apiError(409, 'LAST_OWNER', 'an organization needs at least one owner');
    }
  }

  async addMember(
    name: string,
    username: string,
    role: OrgRole,
    actor: OrgActor,
    by: Actor,
  ): Promise<OrgMember> {
    const org = await this.requireByName(name);
    const actorRole = await this.requireRole(org, actor, 'admin');
    this.assertMayAssign(actorRole, null, role);
    const user = await this.users.requireByUsername(username);
    try {
      await this.events.transaction(async (m) => {
        await m.insert(OrganizationMemberEntity, { organizationId: org.id, userId: user.id, role });
        await this.events.record(
          m,
          event('org.member.added', by, {
            organizationId: org.id,
            name: org.name,
            userId: user.id,
            role,
          }),
        );
      });
    } catch (e) {
      if (isPgError(e, PG_UNIQUE_VIOLATION))
        throw apiError(409, 'ALREADY_MEMBER', `"${user.username}" is already a member`);
      throw e;
    }
    return { user, role, since: new Date() };
  }

  async updateMember(
    name: string,
    username: string,
    role: OrgRole,
    actor: OrgActor,
    by: Actor,
  ): Promise<OrgMember> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'admin');
    const user = await this.users.requireByUsername(username, true);
    const row = await this.events.transaction(async (m) => {
      if (!(await this.lockOrg(m, org.id)))
        throw new NotFoundException(`organization "${org.name}" not found`);
      const actorRole = await this.roleIn(m, org, actor, 'admin');
      const row = await m.findOne(OrganizationMemberEntity, {
        where: { organizationId: org.id, userId: user.id },
      });
      if (!row) throw new NotFoundException(`"${user.username}" is not a member of "${org.name}"`);
      this.assertMayAssign(actorRole, row.role, role);
      if (row.role === 'owner' && role !== 'owner')
        await this.assertNotLastOwner(m, org.id, user.id);
      await m.update(
        OrganizationMemberEntity,
        { organizationId: org.id, userId: user.id },
        { role },
      );
      await this.events.record(
        m,
        event('org.member.updated', by, {
          organizationId: org.id,
          name: org.name,
          userId: user.id,
          role,
        }),
      );
      return row;
    });
    return { user, role, since: row.createdAt };
  }

  /** Removes a member (admins and owners), or lets a member leave; also drops their team memberships. */
  async removeMember(name: string, username: string, actor: OrgActor, by: Actor): Promise<void> {
    const org = await this.requireByName(name);
    const user = await this.users.requireByUsername(username, true);
    const self = user.id === actor.userId;
    if (!self) await this.requireRole(org, actor, 'admin');
    await this.events.transaction(async (m) => {
      if (!(await this.lockOrg(m, org.id)))
        throw new NotFoundException(`organization "${org.name}" not found`);
      const row = await m.findOne(OrganizationMemberEntity, {
        where: { organizationId: org.id, userId: user.id },
      });
      if (!self) {
        const actorRole = await this.roleIn(m, org, actor, 'admin');
        if (row) this.assertMayAssign(actorRole, row.role, null);
      }
      if (!row) throw new NotFoundException(`"${user.username}" is not a member of "${org.name}"`);
      if (row.role === 'owner') await this.assertNotLastOwner(m, org.id, user.id);
      const teamIds = (await m.find(TeamEntity, { where: { organizationId: org.id } })).map(
        (t) => t.id,
      );
      if (teamIds.length)
        await m.delete(TeamMemberEntity, { userId: user.id, teamId: In(teamIds) });
      await m.delete(OrganizationMemberEntity, { organizationId: org.id, userId: user.id });
      await this.events.record(
        m,
        event('org.member.removed', by, {
          organizationId: org.id,
          name: org.name,
          userId: user.id,
        }),
      );
    });
  }

  /**
   * Refuses to delete a user who is the only owner of an organization (UsersService calls this
   * inside its deletion transaction; the organizations' rows stay locked until it commits).
   */
  async assertMayDelete(m: EntityManager, userId: string): Promise<void> {
    const owned: { id: string; name: string }[] = await m.query(
      `SELECT o.id, o.name FROM organizations o
         JOIN organization_members om ON om.organization_id = o.id
        WHERE om.user_id = $1 AND om.role = 'owner'
        ORDER BY o.id FOR UPDATE OF o`,
      [userId],
    );
    for (const org of owned) {
      const others: unknown[] = await m.query(
        `SELECT 1 FROM organization_members
          WHERE organization_id = $1 AND role = 'owner' AND user_id <> $2 LIMIT 1`,
        [org.id, userId],
      );
      if (!others.length) {
        throw apiError(
          409,
          'LAST_OWNER',
          `the user is the only owner of the organization "${org.name}"; give it another owner first`,
        );
      }
    }
  }

  // ---- teams ---------------------------------------------------------------------------------

  async listTeams(name: string, actor: OrgActor): Promise<{ team: TeamEntity; members: number }[]> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'member');
    const teams = await this.teams.find({
      where: { organizationId: org.id },
      order: { name: 'ASC' },
    });
    const counts = await this.teamMemberCounts(teams.map((t) => t.id));
    return teams.map((team) => ({ team, members: counts.get(team.id) ?? 0 }));
  }

  private async teamMemberCounts(teamIds: string[]): Promise<Map<string, number>> {
    if (!teamIds.length) return new Map();
    const rows: { team_id: string; n: string }[] = await this.teamMembers
      .createQueryBuilder('tm')
      .select('tm.team_id', 'team_id')
      .addSelect('count(*)', 'n')
      .where('tm.team_id IN (:...ids)', { ids: teamIds })
      .groupBy('tm.team_id')
      .getRawMany();
    return new Map(rows.map((r) => [r.team_id, Number(r.n)]));
  }

  async createTeam(
    name: string,
    rawTeam: string,
    description: string | null | undefined,
    actor: OrgActor,
    by: Actor,
    canCreateRepositories = false,
  ): Promise<TeamEntity> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'admin');
    const check = checkNamespaceName(rawTeam, { allowReserved: true });
    if (!check.ok) throw new BadRequestException(check.message.replace('name', 'team name'));
    try {
      return await this.events.transaction(async (m) => {
        const saved = await m.save(
          m.create(TeamEntity, {
            organizationId: org.id,
            name: check.name,
            description: description ?? null,
            canCreateRepositories,
          }),
        );
        await this.events.record(
          m,
          event('team.created', by, { organizationId: org.id, teamId: saved.id, team: saved.name }),
        );
        return saved;
      });
    } catch (e) {
      if (isPgError(e, PG_UNIQUE_VIOLATION))
        throw apiError(409, 'TEAM_EXISTS', `team "${check.name}" already exists`);
      throw e;
    }
  }

  /** A team of the organization, or 404. */
  async findTeam(organizationId: string, team: string): Promise<TeamEntity | null> {
    return this.teams.findOne({ where: { organizationId, name: normalizeName(team) } });
  }

  private async requireTeam(org: OrganizationEntity, team: string): Promise<TeamEntity> {
    const found = await this.findTeam(org.id, team);
    if (!found)
      throw new NotFoundException(`team "${normalizeName(team)}" not found in "${org.name}"`);
    return found;
  }

  async getTeam(
    name: string,
    team: string,
    actor: OrgActor,
  ): Promise<{ team: TeamEntity; members: number }> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'member');
    const found = await this.requireTeam(org, team);
    return { team: found, members: (await this.teamMemberCounts([found.id])).get(found.id) ?? 0 };
  }

  async updateTeam(
    name: string,
    team: string,
    description: string | null | undefined,
    actor: OrgActor,
    by: Actor,
    canCreateRepositories?: boolean,
  ): Promise<TeamEntity> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'admin');
    const found = await this.requireTeam(org, team);
    if (description !== undefined) found.description = description;
    const creatorsChanged =
      canCreateRepositories !== undefined && canCreateRepositories !== found.canCreateRepositories;
    if (canCreateRepositories !== undefined) found.canCreateRepositories = canCreateRepositories;
    // The members' cached facts say where they may create repositories: `canCreateRepositories`
    // in the event's fields makes them forgotten.
    const fields = [
      ...(description !== undefined ? ['description'] : []),
      ...(creatorsChanged ? ['canCreateRepositories'] : []),
    ];
    return this.events.transaction(async (m) => {
      const saved = await m.save(found);
      await this.events.record(
        m,
        event('team.updated', by, {
          organizationId: org.id,
          teamId: found.id,
          team: found.name,
          fields,
        }),
      );
      return saved;
    });
  }

  async deleteTeam(name: string, team: string, actor: OrgActor, by: Actor): Promise<void> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'admin');
    const found = await this.requireTeam(org, team);
    await this.events.transaction(async (m) => {
      // Its memberships and repository grants go with the team; the row lock holds off new ones
      // meanwhile, so that the event names every cached fact that changes.
      await m.query('SELECT id FROM teams WHERE id = $1 FOR UPDATE', [found.id]);
      const members = await m.find(TeamMemberEntity, { where: { teamId: found.id } });
      const granted: { name: string }[] = await m.query(
        `SELECT r.name FROM repository_team_permissions tp
           JOIN repositories r ON r.id = tp.repository_id WHERE tp.team_id = $1`,
        [found.id],
      );
      await m.delete(TeamEntity, { id: found.id });
      await this.events.record(
        m,
        event('team.deleted', by, {
          organizationId: org.id,
          teamId: found.id,
          team: found.name,
          memberIds: members.map((r) => r.userId),
          repositories: granted.map((r) => r.name),
        }),
      );
    });
  }

  async listTeamMembers(name: string, team: string, actor: OrgActor): Promise<UserEntity[]> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'member');
    const found = await this.requireTeam(org, team);
    const rows = await this.teamMembers.find({ where: { teamId: found.id } });
    return (await this.users.findByIds(rows.map((r) => r.userId))).sort((a, b) =>
      a.username < b.username ? -1 : 1,
    );
  }

  /** Adds an organization member to a team (idempotent). */
  async addTeamMember(
    name: string,
    team: string,
    username: string,
    actor: OrgActor,
    by: Actor,
  ): Promise<UserEntity> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'admin');
    const found = await this.requireTeam(org, team);
    const user = await this.users.requireByUsername(username);
    if (!(await this.roleOf(org.id, user.id))) {
      throw new ConflictException(`"${user.username}" must be a member of "${org.name}" first`);
    }
    await this.events.transaction(async (m) => {
      await m
        .createQueryBuilder()
        .insert()
        .into(TeamMemberEntity)
        .values({ teamId: found.id, userId: user.id })
        .orIgnore()
        .execute();
      await this.events.record(
        m,
        event('team.member.added', by, {
          organizationId: org.id,
          teamId: found.id,
          team: found.name,
          userId: user.id,
        }),
      );
    });
    return user;
  }

  async removeTeamMember(
    name: string,
    team: string,
    username: string,
    actor: OrgActor,
    by: Actor,
  ): Promise<void> {
    const org = await this.requireByName(name);
    await this.requireRole(org, actor, 'admin');
    const found = await this.requireTeam(org, team);
    const user = await this.users.requireByUsername(username, true);
    const removed = await this.events.transaction(async (m) => {
      const res = await m.delete(TeamMemberEntity, { teamId: found.id, userId: user.id });
      if (!res.affected) return false;
      await this.events.record(
        m,
        event('team.member.removed', by, {
          organizationId: org.id,
          teamId: found.id,
          team: found.name,
          userId: user.id,
        }),
      );
      return true;
    });
    if (!removed) throw new NotFoundException(`"${user.username}" is not in team "${found.name}"`);
  }

  /** Every team the user is in. */
  async teamsOf(userId: string): Promise<UserTeam[]> {
    const rows = await this.teamMembers.find({ where: { userId } });
    if (!rows.length) return [];
    const teams = await this.teams.find({ where: { id: In(rows.map((r) => r.teamId)) } });
    return teams.map((t) => ({
      teamId: t.id,
      organizationId: t.organizationId,
      canCreateRepositories: t.canCreateRepositories,
    }));
  }

  async findTeamsByIds(ids: string[]): Promise<TeamEntity[]> {
    if (!ids.length) return [];
    return this.teams.find({ where: { id: In([...new Set(ids)]) } });
  }
}
