import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { webhookDeliveries } from '../observability/metrics.js';
import { retryDelaySeconds } from './webhook-rules.js';
import { type AttemptResult, sendDelivery, signature } from './webhook-sender.js';

/** Deliveries one node sends at once (one claimed batch). */
const BATCH = 10;
/** How often every node looks for due deliveries besides being nudged. */
const POLL_MS = 2_000;
/** Finished deliveries (and their attempts) are kept this long. */
const KEEP_FINISHED_DAYS = 30;
const PRUNE_EVERY_MS = 3600_000;
/** Error texts kept per attempt. */
const MAX_ERROR_CHARS = 500;

interface Claimed {
  id: string;
  event_type: string;
  body: Record<string, unknown>;
  attempts: number;
  url: string;
  secret: string | null;
}

/**
 * Sends webhook deliveries; one per node, all nodes together.
 *
 * - Claiming: a batch of due `pending` deliveries of enabled webhooks is claimed with FOR UPDATE
 *   SKIP LOCKED and leased (`locked_until`, `lock_token`) for longer than an attempt can take
 *   (twice the send timeout plus 5 s), and its attempt counted, in one statement. A delivery is
 *   therefore sent by one node at a time: another node only claims it after its lease ran out,
 *   which happens only when the node sending it died (then it is sent again: at least once).
 * - Outcome: a 2xx answer marks it `delivered`; anything else (status, network error, timeout,
 *   a refused target) schedules the next attempt after WEBHOOK_RETRY_BASE_SECONDS × 2^(n-1)
 *   (at most an hour), and after WEBHOOK_MAX_ATTEMPTS attempts marks it `failed`. The attempt
 *   row and the new state are written in one statement, only while the lease is still ours.
 * - Waking: after a write that queued deliveries commits, its node is nudged; a node also wakes
 *   when a retry it scheduled is due, and polls every 2 s (deliveries of other nodes that died,
 *   and retries of any node). All state is in PostgreSQL: a restart loses nothing.
 * - Finished deliveries are pruned after 30 days.
 */
@Injectable()
export class WebhookDispatcher implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private running?: Promise<number>;
  private again = false;
  private stopped = false;
  private poller?: NodeJS.Timeout;
  private readonly wakers = new Set<NodeJS.Timeout>();
  private lastPrune = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.poller = setInterval(() => void this.run(), POLL_MS);
    this.poller.unref();
  }

  /** Stops claiming, and lets the attempts under way finish (at most the send timeout). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    for (const t of this.wakers) clearTimeout(t);
    this.wakers.clear();
    await this.running;
  }

  /** Looks for due deliveries now (coalesced with a run under way). */
  nudge(): void {
    void this.run();
  }

  private wakeIn(seconds: number): void {
    const t = setTimeout(
      () => {
        this.wakers.delete(t);
        void this.run();
      },
      seconds * 1000 + 50,
    );
    t.unref();
    this.wakers.add(t);
  }

  private get leaseSeconds(): number {
    return this.config.webhooks.timeoutSeconds * 2 + 5;
  }

  /** Sends every due delivery it can claim; returns how many it attempted. */
  async run(): Promise<number> {
    if (this.stopped) return 0;
    if (this.running) {
      this.again = true;
      return 0;
    }
    this.running = this.sendDue();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async sendDue(): Promise<number> {
    let count = 0;
    try {
      do {
        this.again = false;
        for (;;) {
          const batch = await this.claim();
          await Promise.all(batch.map((d) => this.attempt(d)));
          count += batch.length;
          if (batch.length < BATCH || this.stopped) break;
        }
      } while (this.again && !this.stopped);
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        await this.db.query(
          `DELETE FROM webhook_deliveries
            WHERE state <> 'pending' AND updated_at < now() - make_interval(days => $1)`,
          [KEEP_FINISHED_DAYS],
        );
      }
    } catch (e) {
      this.logger.warn(`webhook dispatch failed: ${(e as Error).message}`);
    }
    return count;
  }

  private async claim(): Promise<(Claimed & { token: string })[]> {
    const token = randomUUID();
    // UPDATE … RETURNING answers [rows, count].
    const [rows]: [Claimed[], number] = await this.db.query(
      `UPDATE webhook_deliveries d
          SET lock_token = $1, locked_until = now() + make_interval(secs => $2),
              attempts = d.attempts + 1, updated_at = now()
         FROM webhooks w
        WHERE w.id = d.webhook_id
          AND d.id IN (
                SELECT d2.id FROM webhook_deliveries d2
                  JOIN webhooks w2 ON w2.id = d2.webhook_id AND w2.enabled
                 WHERE d2.state = 'pending' AND d2.next_attempt_at <= now()
                   AND (d2.locked_until IS NULL OR d2.locked_until < now())
                 ORDER BY d2.next_attempt_at LIMIT $3
                   FOR UPDATE OF d2 SKIP LOCKED)
        RETURNING d.id, d.event_type, d.body, d.attempts, w.url, w.secret`,
      [token, this.leaseSeconds, BATCH],
    );
    return rows.map((r) => ({ ...r, token }));
  }

  private async attempt(d: Claimed & { token: string }): Promise<void> {
    const body = JSON.stringify({ deliveryId: d.id, ...d.body });
    const headers: Record<string, string> = {
      'User-Agent': 'Aerugo-Webhook/1',
      'X-Aerugo-Event': d.event_type,
      'X-Aerugo-Event-Id': String(d.body.eventId),
      'X-Aerugo-Delivery': d.id,
    };
    if (d.secret) headers['X-Aerugo-Signature'] = signature(d.secret, body);
    const result = await sendDelivery(d.url, body, headers, {
      timeoutMs: this.config.webhooks.timeoutSeconds * 1000,
      allowPrivate: this.config.webhooks.allowPrivateTargets,
    });
    await this.finish(d, result).catch((e: Error) =>
      this.logger.warn(`recording webhook delivery ${d.id} failed: ${e.message}`),
    );
  }

  private async finish(d: Claimed & { token: string }, r: AttemptResult): Promise<void> {
    const ok = r.status !== undefined && r.status >= 200 && r.status < 300;
    const { maxAttempts, retryBaseSeconds } = this.config.webhooks;
    const outcome = ok ? 'delivered' : d.attempts >= maxAttempts ? 'failed' : 'retry';
    const delay = outcome === 'retry' ? retryDelaySeconds(d.attempts, retryBaseSeconds) : 0;
    const error =
      r.error?.slice(0, MAX_ERROR_CHARS) ??
      (ok ? null : `the target answered ${r.status ?? 'nothing'}`);
    const rows: { id: string }[] = await this.db.query(
      `WITH done AS (
         UPDATE webhook_deliveries
            SET state = $3, next_attempt_at = now() + make_interval(secs => $4),
                locked_until = NULL, lock_token = NULL, last_status = $5, last_error = $6,
                updated_at = now()
          WHERE id = $1 AND lock_token = $2
          RETURNING id, attempts)
       INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
       SELECT id, attempts, $7, $8, $5, $6 FROM done
       RETURNING delivery_id AS id`,
      [
        d.id,
        d.token,
        outcome === 'retry' ? 'pending' : outcome,
        delay,
        r.status ?? null,
        error,
        r.startedAt,
        r.durationMs,
      ],
    );
    // Lost lease (this attempt outlived it): another node owns the delivery now.
    if (!rows.length) return;
    webhookDeliveries.inc({ outcome });
    if (outcome === 'retry') this.wakeIn(delay);
    if (outcome === 'failed')
      this.logger.warn(`webhook delivery ${d.id} failed after ${d.attempts} attempts: ${error}`);
  }
}
