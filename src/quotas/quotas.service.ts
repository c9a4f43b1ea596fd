import { ForbiddenException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { UserPrincipal } from '../auth/principal.js';
import type { Actor } from '../common/actor.js';
import { apiError } from '../common/api-error.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { AccessFactsService } from '../repos/access-facts.service.js';

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
    private readonly facts: AccessFactsService,
  ) {}

  /** Usage of a namespace, for system administrators, its user and its organization's members. */
  async usage(caller: UserPrincipal, namespace: string): Promise<NamespaceUsage> {
    const name = namespace.toLowerCase();
    const { standing } = await this.facts.namespaceStandingOf(caller, name);
    const rows: { usage: string; quota: string | null }[] =
      standing === 'admin' || standing === 'member'
        ? await this.db.query(
            `SELECT usage_bytes AS usage, quota_bytes AS quota FROM namespaces WHERE name = $1`,
            [name],
          )
        : [];
    if (!rows.length)
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
