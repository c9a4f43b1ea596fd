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
import type { NameRestriction } from '../users/user-search.service.js';
import { OrganizationEntity } from './org.entities.js';

/**
 * Read-only organization queries of global search (see src/search/match.ts): by name or display
 * name, served by the `organizations_name_trgm` and `organizations_display_name_trgm` indexes
 * when pg_trgm is installed.
 */
@Injectable()
export class OrgSearchService {
  constructor(
    @InjectRepository(OrganizationEntity) private readonly orgs: Repository<OrganizationEntity>,
  ) {}

  private matching(
    term: SearchTerm,
    restrict?: NameRestriction,
  ): SelectQueryBuilder<OrganizationEntity> {
    const m = nameMatch('o.name', 'o.display_name', term);
    const qb = this.orgs.createQueryBuilder('o').where(m.where, m.params);
    return restrict ? qb.andWhere(restrict('o.name')) : qb;
  }

  async countByTier(term: SearchTerm, restrict?: NameRestriction): Promise<TierCounts> {
    const m = nameMatch('o.name', 'o.display_name', term);
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
  ): Promise<OrganizationEntity[]> {
    const m = nameMatch('o.name', 'o.display_name', term);
    return this.matching(term, restrict)
      .andWhere(`${m.tier} = :sq_tier`, { sq_tier: MATCH_TIERS.indexOf(tier) })
      .orderBy('o.name', 'ASC')
      .offset(offset)
      .limit(limit)
      .getMany();
  }
}
