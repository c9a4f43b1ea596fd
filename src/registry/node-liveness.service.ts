import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomInt } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { RegistryError } from './errors.js';

/** First key of the liveness advisory locks (the second is the node's random id). */
export const LIVENESS_LOCK_CLASS = 0x61657276; // "aerv"

/**
 * This node's liveness, as PostgreSQL sees it: one dedicated connection (outside the pool, never
 * in a transaction) holds the advisory lock (LIVENESS_LOCK_CLASS, id) for as long as the node
 * lives. Leases the node takes (upload writes) record `id`; another node may take such a lease
 * over as soon as the lock is gone from `pg_locks` — at once when this process dies, since its
 * connection closes with it — instead of waiting for the lease to expire.
 *
 * When the connection is lost while the process lives, every lease holder is told at once (and
 * stops writing: another node may already take its leases over); a new connection takes a new
 * id, so leases recorded under the old one are never mistaken for live again.
 */
@Injectable()
export class NodeLivenessService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('NodeLiveness');
  private client: pg.Client | undefined;
  private nodeId = 0;
  private readonly listeners = new Set<() => void>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.nodeId = 0;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const url = (this.db.options as { url?: string }).url;
    const client = new pg.Client({ connectionString: url, keepAlive: true });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    const id = randomInt(1, 2 ** 31 - 1);
    await client.query('SELECT pg_advisory_lock($1, $2)', [LIVENESS_LOCK_CLASS, id]);
    this.client = client;
    this.nodeId = id;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.nodeId = 0;
    client.end().catch(() => undefined);
    if (this.closing) return;
    this.logger.warn('lost the liveness connection to PostgreSQL; stopping upload writes');
    for (const l of [...this.listeners]) l();
    this.scheduleReconnect(500);
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.closing || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch(() => this.scheduleReconnect(Math.min(delayMs * 2, 10_000)));
    }, delayMs);
    this.reconnectTimer.unref();
  }

  /** The id leases are recorded under; 503 while the node has no liveness connection. */
  id(): number {
    if (!this.nodeId) {
      this.scheduleReconnect(100);
      throw new RegistryError(
        'UNAVAILABLE',
        'the database is unreachable; try again shortly',
        undefined,
        503,
        { 'Retry-After': '5' },
      );
    }
    return this.nodeId;
  }

  /** Calls `fn` when the liveness connection is lost; returns the unsubscribe function. */
  onLost(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

/**
 * SQL condition (for a row aliased `u` with `lease_token`, `lease_expires_at` and `lease_node`)
 * that holds when nobody holds the row's lease: none taken, expired, or its node is gone.
 */
export const LEASE_FREE_SQL = `(u.lease_token IS NULL OR u.lease_expires_at < now() OR NOT EXISTS (
  SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = ${LIVENESS_LOCK_CLASS}::int::oid
     AND l.objid = u.lease_node::oid AND l.objsubid = 2 AND l.granted))`;
