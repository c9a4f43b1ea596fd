import { ForbiddenException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { UserPrincipal } from '../auth/principal.js';
import type { Actor } from '../common/actor.js';
import { apiError } from '../common/api-error.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';

export interface NamespaceUsage {
  namespace: string;
  usageBytes: number;
  quotaBytes: number | null;
  repositories: { name: string; usageBytes: number }[];
}

/**
 * Storage usage and quotas of namespaces. Usage is kept by triggers on `repository_blobs` (see
 * migrations/1764400000201-quotas.ts): a namespace counts each blob once however many of its
 * repositories link it; a repository counts the blobs linked into it. The quota is checked where
 * a link is added (BlobsData.assertQuota).
 */
@Injectable()
export class QuotasService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: EventsService,
  ) {}

  /** Usage of a namespace, for system administrators, its user and its organization's members. */
  async usage(caller: UserPrincipal, namespace: string): Promise<NamespaceUsage> {
    const name = namespace.toLowerCase();
    const rows: { usage: string; quota: string | null; member: boolean }[] = await this.db.query(
      `SELECT n.usage_bytes AS usage, n.quota_bytes AS quota,
              (n.name = $2 OR EXISTS (SELECT 1 FROM organizations o
                 JOIN organization_members om ON om.organization_id = o.id
                WHERE o.name = n.name AND om.user_id = $3)) AS member
         FROM namespaces n WHERE n.name = $1`,
      [name, caller.username, caller.userId],
    );
    if (!rows.length || (!rows[0].member && !caller.isAdmin))
      throw apiError(404, 'NOT_FOUND', `no namespace "${name}" whose usage you may see`);
    const repos: { name: string; usage: string }[] = await this.db.query(
      `SELECT name, usage_bytes AS usage FROM repositories WHERE namespace = $1 ORDER BY name`,
      [name],
    );
    return {
      namespace: name,
      usageBytes: Number(rows[0].usage),
      quotaBytes: rows[0].quota === null ? null : Number(rows[0].quota),
      repositories: repos.map((r) => ({ name: r.name, usageBytes: Number(r.usage) })),
    };
  }

  /** Sets (or with null lifts) a namespace's quota: system administrators only. */
  async setQuota(
    caller: UserPrincipal,
    namespace: string,
    bytes: number | null,
    actor: Actor,
  ): Promise<NamespaceUsage> {
    if (!caller.isAdmin) throw new ForbiddenException('only system administrators may do this');
    const name = namespace.toLowerCase();
    const found = await this.events.transaction(async (m) => {
      const [, count]: [unknown[], number] = await m.query(
        `UPDATE namespaces SET quota_bytes = $2 WHERE name = $1`,
        [name, bytes],
      );
      if (!count) return false;
      await this.events.record(
        m,
        event('namespace.quota.changed', actor, { namespace: name, bytes }),
      );
      return true;
    });
    if (!found) throw apiError(404, 'NOT_FOUND', `no namespace "${name}"`);
    return this.usage(caller, namespace);
  }
}
