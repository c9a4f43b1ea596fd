import {
  BadRequestException,
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { escapeLike } from '../database/like.js';
import type { RecordedEvent } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { type AuditNames, type AuditRow, auditRowOf, idsToName } from './audit-mapping.js';

/** Advisory lock key of the pruning (one node prunes at a time). */
const PRUNE_LOCK_KEY = 0x61756474; // "audt"
/** Rows deleted per pruning transaction. */
const PRUNE_BATCH = 5000;
/** How often each node tries to prune (and a first time shortly after start). */
const PRUNE_INTERVAL_MS = 10 * 60_000;
const FIRST_PRUNE_MS = 30_000;

/** Who asks for the audit log, and so which rows they may see. */
export interface AuditViewer {
  userId: string;
  username: string;
  isAdmin: boolean;
}

export interface AuditFilter {
  namespace?: string;
  repository?: string;
  actor?: string;
  /** Exact, or a prefix when it ends with `.` or `*` (`manifest.`, `manifest.*`). */
  action?: string;
  since?: Date;
  until?: Date;
  cursor?: string;
  limit: number;
}

export interface AuditEntry extends Omit<AuditRow, 'eventId'> {
  id: string;
  createdAt: string;
}

/** The position after a row in the newest-first order: its time (microseconds) and id. */
interface Cursor {
  t: string;
  i: string;
}

/** A timestamptz column as ISO 8601 in UTC with its microseconds (a JS Date would drop them). */
const EXACT_TIME = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const CURSOR_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

/** The cursor a page handed out; 400 for anything else. */
export function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof c.t === 'string' && CURSOR_TIME.test(c.t) && typeof c.i === 'string')
      if (/^\d{1,18}$/.test(c.i)) return { t: c.t, i: c.i };
  } catch {
    // fall through
  }
  throw new BadRequestException('cursor is not one this API handed out');
}

/**
 * The audit log. One in-transaction subscriber of EventsService writes a row for every recorded
 * event (of any name: see audit-mapping.ts) in the transaction of the change, so a change and its
 * audit row commit together or not at all; `list` reads them newest first for a viewer; rows older
 * than AUDIT_RETENTION_DAYS are pruned in batches by one node at a time.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Audit');
  private unsubscribe?: () => void;
  private pruneTimer?: NodeJS.Timeout;
  private firstPrune?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly events: EventsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.events.onRecord((m, e) => this.write(m, e));
    if (this.config.audit.retentionDays > 0) {
      this.firstPrune = setTimeout(() => void this.prune(), FIRST_PRUNE_MS);
      this.firstPrune.unref();
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();
    }
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    clearTimeout(this.firstPrune);
    clearInterval(this.pruneTimer);
  }

  /**
   * Writes the event's row through the event's own transaction, at the transaction's `now()`
   * (the outbox row's time exactly: `occurredAt` has lost its microseconds).
   */
  private async write(m: EntityManager, e: RecordedEvent): Promise<void> {
    const row = auditRowOf(e, await this.names(m, e));
    await m.query(
      `INSERT INTO audit_log (event_id, created_at, action, actor_kind, actor_id, actor_name,
         credential, api_key_id, client_address, request_id, namespace, repository, target, details)
       VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        row.eventId,
        row.action,
        row.actorKind,
        row.actorId,
        row.actorName,
        row.credential,
        row.apiKeyId,
        row.clientAddress,
        row.requestId,
        row.namespace,
        row.repository,
        row.target,
        JSON.stringify(row.details),
      ],
    );
  }

  /** Names of the users and organizations the event names by id (ids are checked uuids). */
  private async names(m: EntityManager, e: RecordedEvent): Promise<AuditNames> {
    const ids = idsToName(e);
    const users = new Map<string, string>();
    const orgs = new Map<string, string>();
    if (ids.users.length) {
      const rows: { id: string; username: string }[] = await m.query(
        `SELECT id::text, username FROM users WHERE id = ANY($1::uuid[])`,
        [ids.users],
      );
      for (const r of rows) users.set(r.id, r.username);
    }
    if (ids.orgs.length) {
      const rows: { id: string; name: string }[] = await m.query(
        `SELECT id::text, name FROM organizations WHERE id = ANY($1::uuid[])`,
        [ids.orgs],
      );
      for (const r of rows) orgs.set(r.id, r.name);
    }
    return { users, orgs };
  }

  /**
   * A page of the rows the viewer may see, newest first: all for a system administrator; else
   * the viewer's own actions, events on their own namespace, and events on the namespaces of the
   * organizations they own or administer (membership as it is now), in both cases since the
   * account or organization was created.
   */
  async list(
    viewer: AuditViewer,
    f: AuditFilter,
  ): Promise<{ items: AuditEntry[]; nextCursor: string | null }> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown): string => {
      args.push(v);
      return `$${args.length}`;
    };
    if (!viewer.isAdmin) {
      // The namespaces the viewer may see, each from when its current holder was created (a name
      // freed by a deleted user or organization and taken again does not show the old rows):
      // their own, and those of the organizations they own or administer. A short list, so that
      // the condition below can use the namespace and actor indexes.
      const visible: { name: string; since: string }[] = await this.db.query(
        `SELECT u.username AS name, ${EXACT_TIME('u.created_at')} AS since FROM users u WHERE u.id = $1
         UNION ALL
         SELECT o.name, ${EXACT_TIME('o.created_at')} FROM organizations o
           JOIN organization_members om ON om.organization_id = o.id
          WHERE om.user_id = $1 AND om.role IN ('owner', 'admin')`,
        [viewer.userId],
      );
      const names = arg(visible.map((v) => v.name));
      where.push(`(a.actor_id = ${arg(viewer.userId)}::uuid
        OR (a.namespace = ANY(${names}::text[])
            AND a.created_at >= (${arg(visible.map((v) => v.since))}::timestamptz[])
                                  [array_position(${names}::text[], a.namespace::text)]))`);
    }
    if (f.namespace !== undefined) where.push(`a.namespace = ${arg(f.namespace)}`);
    if (f.repository !== undefined) where.push(`a.repository = ${arg(f.repository)}`);
    if (f.actor !== undefined) where.push(`a.actor_name = ${arg(f.actor)}`);
    if (f.action !== undefined) {
      const prefix = /[.*]$/.test(f.action) ? f.action.replace(/\*$/, '') : undefined;
      where.push(
        prefix !== undefined
          ? `a.action LIKE ${arg(`${escapeLike(prefix)}%`)}`
          : `a.action = ${arg(f.action)}`,
      );
    }
    if (f.since) where.push(`a.created_at >= ${arg(f.since)}`);
    if (f.until) where.push(`a.created_at < ${arg(f.until)}`);
    if (f.cursor !== undefined) {
      const c = decodeCursor(f.cursor);
      where.push(`(a.created_at, a.id) < (${arg(c.t)}::timestamptz, ${arg(c.i)}::bigint)`);
    }
    const rows: (Record<string, unknown> & { id: string; t: string })[] = await this.db.query(
      `SELECT a.id::text AS id,
              ${EXACT_TIME('a.created_at')} AS t,
              a.action, a.actor_kind, a.actor_id, a.actor_name, a.credential, a.api_key_id,
              a.client_address, a.request_id, a.namespace, a.repository, a.target, a.details
         FROM audit_log a
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY a.created_at DESC, a.id DESC
        LIMIT ${arg(f.limit + 1)}`,
      args,
    );
    const page = rows.slice(0, f.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        id: r.id,
        createdAt: r.t,
        action: r.action as string,
        actorKind: r.actor_kind as string,
        actorId: r.actor_id as string | null,
        actorName: r.actor_name as string | null,
        credential: r.credential as string,
        apiKeyId: r.api_key_id as string | null,
        clientAddress: r.client_address as string | null,
        requestId: r.request_id as string,
        namespace: r.namespace as string | null,
        repository: r.repository as string | null,
        target: r.target as string | null,
        details: r.details as Record<string, unknown>,
      })),
      nextCursor: rows.length > f.limit && last ? encodeCursor({ t: last.t, i: last.id }) : null,
    };
  }

  /**
   * Deletes rows older than AUDIT_RETENTION_DAYS, a batch per transaction, while this node holds
   * the pruning's advisory lock (another node pruning at the same time skips its turn). Returns the
   * rows deleted.
   */
  async prune(): Promise<number> {
    const days = this.config.audit.retentionDays;
    if (days <= 0) return 0;
    let total = 0;
    try {
      for (;;) {
        const deleted = await this.db.transaction(async (m) => {
          const [{ locked }]: { locked: boolean }[] = await m.query(
            `SELECT pg_try_advisory_xact_lock($1) AS locked`,
            [PRUNE_LOCK_KEY],
          );
          if (!locked) return -1;
          // DELETE … RETURNING answers [rows, count].
          const [, count]: [unknown[], number] = await m.query(
            `DELETE FROM audit_log WHERE id IN (
               SELECT id FROM audit_log WHERE created_at < now() - make_interval(days => $1)
                ORDER BY created_at, id LIMIT $2)`,
            [days, PRUNE_BATCH],
          );
          return count;
        });
        if (deleted < 0) break;
        total += deleted;
        if (deleted < PRUNE_BATCH) break;
      }
    } catch (e) {
      this.logger.warn(`audit pruning failed: ${(e as Error).message}`);
    }
    if (total) this.logger.log(`pruned ${total} audit row(s) older than ${days} day(s)`);
    return total;
  }
}
