import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository, type SelectQueryBuilder } from 'typeorm';
import {
  MATCH_TIERS,
  type MatchTier,
  repositoryNameMatch,
  type SearchTerm,
  type TierCounts,
  tierCounts,
} from '../search/match.js';
import { RepositoryEntity } from './repository.entity.js';
import { type VisibilityScope, whereVisible } from './visible-to.js';

/**
 * Read-only repository queries of global search (see src/search/match.ts for the rules). The
 * name conditions are served by the `repositories_name_trgm` index when pg_trgm is installed.
 */
@Injectable()
export class RepoSearchService {
  constructor(
    @InjectRepository(RepositoryEntity) private readonly repos: Repository<RepositoryEntity>,
  ) {}

  private matching(scope: VisibilityScope, term: SearchTerm): SelectQueryBuilder<RepositoryEntity> {
    const m = repositoryNameMatch('r.name', term);
    return whereVisible(this.repos.createQueryBuilder('r'), 'r', scope).andWhere(m.where, m.params);
  }

  async countByTier(scope: VisibilityScope, term: SearchTerm): Promise<TierCounts> {
    const m = repositoryNameMatch('r.name', term);
    const rows = await this.matching(scope, term)
      .select(m.tier, 'tier')
      .addSelect('count(*)', 'n')
      .groupBy('tier')
      .getRawMany<{ tier: number; n: string }>();
    return tierCounts(rows);
  }

  async page(
    scope: VisibilityScope,
    term: SearchTerm,
    tier: MatchTier,
    offset: number,
    limit: number,
  ): Promise<RepositoryEntity[]> {
    const m = repositoryNameMatch('r.name', term);
    return this.matching(scope, term)
      .andWhere(`${m.tier} = :sq_tier`, { sq_tier: MATCH_TIERS.indexOf(tier) })
      .orderBy('r.name', 'ASC')
      .offset(offset)
      .limit(limit)
      .getMany();
  }

  /**
   * SQL condition: the namespace in `column` holds at least one public repository. What an
   * anonymous caller may find of users and organizations (see SearchService).
   */
  holdsPublicRepository(column: string): string {
    return `EXISTS (SELECT 1 FROM repositories pub_r WHERE pub_r.namespace = ${column} AND pub_r.visibility = 'public')`;
  }
}
