import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository, type SelectQueryBuilder } from 'typeorm';
import {
  MATCH_TIERS,
  type MatchTier,
  nameMatch,
  type SearchTerm,
  type TierCounts,
  tierCounts,
} from '../search/match.js';
import { UserEntity } from './user.entity.js';

/** A further SQL condition on the user name column (e.g. "holds a public repository"). */
export type NameRestriction = (nameColumn: string) => string;

/**
 * Read-only user queries of global search (see src/search/match.ts): active users by name or
 * display name, served by the `users_username_trgm` and `users_display_name_trgm` indexes when
 * pg_trgm is installed.
 */
@Injectable()
export class UserSearchService {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  private matching(term: SearchTerm, restrict?: NameRestriction): SelectQueryBuilder<UserEntity> {
    const m = nameMatch('u.username', 'u.display_name', term);
    const qb = this.users
      .createQueryBuilder('u')
      .where('u.active = true')
      .andWhere(m.where, m.params);
    return restrict ? qb.andWhere(restrict('u.username')) : qb;
  }

  async countByTier(term: SearchTerm, restrict?: NameRestriction): Promise<TierCounts> {
    const m = nameMatch('u.username', 'u.display_name', term);
    const rows = await this.matching(term, restrict)
      .select(m.tier, 'tier')
      .addSelect('count(*)', 'n')
      .groupBy('tier')
      .getRawMany<{ tier: number; n: string }>();
    return tierCounts(rows);
  }

  async page(
    term: SearchTerm,
    tier: MatchTier,
    offset: number,
    limit: number,
    restrict?: NameRestriction,
  ): Promise<UserEntity[]> {
    const m = nameMatch('u.username', 'u.display_name', term);
    return this.matching(term, restrict)
      .andWhere(`${m.tier} = :sq_tier`, { sq_tier: MATCH_TIERS.indexOf(tier) })
      .orderBy('u.username', 'ASC')
      .offset(offset)
      .limit(limit)
      .getMany();
  }
}
