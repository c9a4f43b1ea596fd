import { Brackets, type SelectQueryBuilder, type WhereExpressionBuilder } from 'typeorm';

/** What the caller may see in searches (system administrators see everything). */
export interface VisibilityScope {
  all: boolean;
  /** Namespaces the caller administers (own user namespace, organizations owned or administered). */
  namespaces: string[];
  userId?: string;
  teamIds: string[];
}

/**
 * Restricts a query over `repositories` (as `alias`) to the rows `scope` may see: public ones,
 * those in namespaces the caller administers, and those granted to the caller or their teams.
 * The one place the listing and searching queries take this rule from; the catalog
 * (ReposService.listVisibleNames) states the same four ways as a UNION, so that each reads its own
 * index from the cursor on.
 */
export function whereVisible<T extends object>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  scope: VisibilityScope,
): SelectQueryBuilder<T> {
  if (scope.all) return qb;
  return qb.andWhere(
    new Brackets((w: WhereExpressionBuilder) => {
      w.where(`${alias}.visibility = 'public'`);
      if (scope.namespaces.length)
        w.orWhere(`${alias}.namespace IN (:...vis_ns)`, { vis_ns: scope.namespaces });
      if (scope.userId) {
        w.orWhere(
          `EXISTS (SELECT 1 FROM repository_user_permissions vis_up WHERE vis_up.repository_id = ${alias}.id AND vis_up.user_id = :vis_uid)`,
          { vis_uid: scope.userId },
        );
      }
      if (scope.teamIds.length) {
        w.orWhere(
          `EXISTS (SELECT 1 FROM repository_team_permissions vis_tp WHERE vis_tp.repository_id = ${alias}.id AND vis_tp.team_id IN (:...vis_teams))`,
          { vis_teams: scope.teamIds },
        );
      }
    }),
  );
}
