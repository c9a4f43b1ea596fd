import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { transaction } from '../database/transaction.js';
import type { DomainEvent, EventName, RecordedEvent } from './events.js';

export type EventHandler<K extends EventName = EventName> = (
  event: RecordedEvent<K>,
) => Promise<void> | void;

/**
 * A subscriber that runs inside the transaction that records the event, before it commits: what
 * it writes through `m` commits with the change or not at all (the audit log, webhook deliveries).
 * It must only touch the database through `m`, and may run twice when the transaction is retried.
 */
export type InTransactionHandler<K extends EventName = EventName> = (
  m: EntityManager,
  event: RecordedEvent<K>,
) => Promise<void>;

/** Undelivered rows older than this are delivered again by the relay (their node died first). */
const RELAY_AFTER_SECONDS = 60;
/** How often the relay and the pruning run. */
const SWEEP_INTERVAL_MS = 30_000;
/** Delivered rows are kept this long, then pruned. */
const KEEP_DELIVERED_HOURS = 24;
/** Delivered ids are marked in batches, at most this long after delivery. */
const MARK_DELAY_MS = 200;

/**
 * The write seam: every write runs in `transaction()` and records its event with `record(m, …)`
 * there, so the outbox row commits with the write or not at all. After the commit the recorded
 * events are delivered to the in-process subscribers (cache invalidation, …) before the write
 * returns, exactly where invalidations used to be called by hand; their outbox rows are then
 * marked delivered. Rows whose node died between commit and delivery are delivered by the relay
 * of any node a minute later (subscribers are idempotent), and delivered rows are pruned after a
 * day. Later consumers (webhooks, audit log) read the same rows.
 */
@Injectable()
export class EventsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Events');
  private readonly pending = new WeakMap<EntityManager, RecordedEvent[]>();
  private readonly handlers = new Map<EventName | '*', EventHandler[]>();
  private readonly inTransaction: InTransactionHandler[] = [];
  private toMark: string[] = [];
  private markTimer?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onModuleInit(): void {
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.flushMarks();
  }

  /** Subscribes to one event (or every event with '*'); returns the unsubscribe function. */
  on<K extends EventName>(name: K | '*', handler: EventHandler<K>): () => void {
    const list = this.handlers.get(name) ?? [];
    list.push(handler as EventHandler);
    this.handlers.set(name, list);
    return () => {
      const i = list.indexOf(handler as EventHandler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /**
   * Subscribes to every event inside the transaction that records it (see InTransactionHandler);
   * returns the unsubscribe function. A handler that throws rolls the change back.
   */
  onRecord(handler: InTransactionHandler): () => void {
    this.inTransaction.push(handler);
    return () => {
      const i = this.inTransaction.indexOf(handler);
      if (i >= 0) this.inTransaction.splice(i, 1);
    };
  }

  /**
   * Records an event that has no write of its own (a failed sign-in, a pull) in a transaction of
   * its own, then delivers it like any other.
   */
  async recordAlone(event: DomainEvent): Promise<void> {
    await this.transaction((m) => this.record(m, event));
  }

  /**
   * Runs `work` in one transaction (see database/transaction.ts: it may run twice after a lost
   * connection, so it only touches the database through `m`) and delivers the events it recorded
   * once it committed.
   */
  async transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    let recorded: RecordedEvent[] = [];
    const value = await transaction(this.db, async (m) => {
      // A fresh list per attempt: only the attempt that committed is delivered.
      const mine: RecordedEvent[] = [];
      recorded = mine;
      this.pending.set(m, mine);
      try {
        return await work(m);
      } finally {
        this.pending.delete(m);
      }
    });
    await this.deliver(recorded);
    return value;
  }

  /** Records `event` in the caller's transaction (which must come from `transaction` above). */
  async record(m: EntityManager, event: DomainEvent): Promise<void> {
    const list = this.pending.get(m);
    if (!list) throw new Error(`event ${event.name} recorded outside EventsService.transaction`);
    const rows: { id: string; created_at: Date }[] = await m.query(
      `INSERT INTO outbox (event, actor, request_id, payload) VALUES ($1, $2, $3, $4)
       RETURNING id, created_at`,
      [
        event.name,
        JSON.stringify({ ...event.actor, requestId: undefined }),
        event.actor.requestId,
        JSON.stringify(event.payload),
      ],
    );
    const recorded: RecordedEvent = {
      ...event,
      id: String(rows[0].id),
      requestId: event.actor.requestId,
      occurredAt: rows[0].created_at,
    };
    for (const h of this.inTransaction) await h(m, recorded);
    list.push(recorded);
  }

  /**
   * Hands committed events to the subscribers, in order, and marks them delivered. A subscriber
   * that fails does not fail the write (it has committed): its event is left unmarked, so that the
   * relay delivers it again (to every subscriber: they are idempotent) a minute later.
   */
  private async deliver(events: RecordedEvent[]): Promise<void> {
    for (const e of events) {
      let failed = false;
      for (const h of [...(this.handlers.get(e.name) ?? []), ...(this.handlers.get('*') ?? [])])
        await Promise.resolve()
          .then(() => h(e))
          .catch((err: Error) => {
            failed = true;
            this.logger.warn(`delivering event ${e.id} (${e.name}) failed: ${err.message}`);
          });
      if (!failed) this.toMark.push(e.id);
    }
    if (events.length && !this.markTimer) {
      this.markTimer = setTimeout(() => void this.flushMarks(), MARK_DELAY_MS);
      this.markTimer.unref();
    }
  }

  private async flushMarks(): Promise<void> {
    if (this.markTimer) clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const ids = this.toMark;
    this.toMark = [];
    if (!ids.length) return;
    try {
      await this.db.query(`UPDATE outbox SET delivered_at = now() WHERE id = ANY($1::bigint[])`, [
        ids,
      ]);
    } catch (e) {
      // Kept for the next flush (the sweep flushes too); never delivered twice by this node.
      this.toMark.push(...ids);
      this.logger.warn(`marking events delivered failed: ${(e as Error).message}`);
    }
  }

  /** Delivers rows left undelivered (their node died after commit), then prunes delivered rows. */
  async sweep(): Promise<void> {
    try {
      await this.flushMarks();
      for (;;) {
        const [rows]: [
          {
            id: string;
            event: EventName;
            actor: Omit<RecordedEvent['actor'], 'requestId'>;
            request_id: string;
            payload: never;
            created_at: Date;
          }[],
          number,
        ] = await this.db.query(
          `UPDATE outbox SET delivered_at = now()
            WHERE id IN (SELECT id FROM outbox
                          WHERE delivered_at IS NULL AND created_at < now() - make_interval(secs => $1)
                          ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED)
            RETURNING id, event, actor, request_id, payload, created_at`,
          [RELAY_AFTER_SECONDS],
        );
        for (const r of rows.sort((a, b) => Number(a.id) - Number(b.id))) {
          const e: RecordedEvent = {
            id: String(r.id),
            name: r.event,
            actor: { ...r.actor, requestId: r.request_id },
            requestId: r.request_id,
            payload: r.payload,
            occurredAt: r.created_at,
          };
          for (const h of [...(this.handlers.get(e.name) ?? []), ...(this.handlers.get('*') ?? [])])
            await Promise.resolve(h(e)).catch((err: Error) =>
              this.logger.warn(`relaying event ${e.id} (${e.name}) failed: ${err.message}`),
            );
        }
        if (rows.length < 100) break;
      }
      await this.db.query(
        `DELETE FROM outbox WHERE delivered_at < now() - make_interval(hours => $1)`,
        [KEEP_DELIVERED_HOURS],
      );
    } catch (e) {
      this.logger.warn(`outbox sweep failed: ${(e as Error).message}`);
    }
  }
}
