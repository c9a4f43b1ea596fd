// Service tier: the write seam (EventsService): events commit with their write or not at all, are
// delivered once after commit, survive a lost connection without duplicates, and rows left
// undelivered are relayed; delivered rows are pruned.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Actor } from '../../src/common/actor.js';
import { event, type RecordedEvent } from '../../src/events/events.js';
import { EventsService } from '../../src/events/events.service.js';
import { type Services, startServices } from './support.js';

const actor: Actor = {
  principal: { kind: 'system', name: 'service-test' },
  credential: 'system',
  requestId: 'events-test',
};

let s: Services;
let events: EventsService;
const seen: RecordedEvent[] = [];

async function outbox(): Promise<
  { event: string; payload: { name: string }; delivered: boolean }[]
> {
  const { rows } = await s.db.query<{
    event: string;
    payload: { name: string };
    delivered: boolean;
  }>(`SELECT event, payload, delivered_at IS NOT NULL AS delivered FROM outbox ORDER BY id`);
  return rows;
}

beforeAll(async () => {
  s = await startServices();
  events = s.get(EventsService);
  events.on('*', (e) => void seen.push(e));
}, 120_000);

afterAll(async () => {
  await s?.close();
});

describe('EventsService', () => {
  it('delivers a committed event once, after commit, with its actor and request id', async () => {
    let deliveredBeforeCommit = false;
    await events.transaction(async (m) => {
      await events.record(m, event('org.created', actor, { organizationId: 'o1', name: 'one' }));
      deliveredBeforeCommit = seen.length > 0;
    });
    expect(deliveredBeforeCommit).toBe(false);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      name: 'org.created',
      requestId: 'events-test',
      payload: { name: 'one' },
    });
    expect((await outbox()).map((r) => r.payload.name)).toEqual(['one']);
  });

  it('a write that fails leaves no row and delivers nothing', async () => {
    seen.length = 0;
    await expect(
      events.transaction(async (m) => {
        await events.record(m, event('org.created', actor, { organizationId: 'o2', name: 'two' }));
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(seen).toEqual([]);
    expect((await outbox()).map((r) => r.payload.name)).toEqual(['one']);
  });

  it('a transaction whose connection died before COMMIT runs again: one row, one delivery', async () => {
    seen.length = 0;
    let runs = 0;
    await events.transaction(async (m) => {
      runs++;
      await events.record(m, event('org.created', actor, { organizationId: 'o3', name: 'three' }));
      // The first run loses its connection after recording (as in a failover).
      if (runs === 1) await m.query('SELECT pg_terminate_backend(pg_backend_pid())');
    });
    expect(runs).toBe(2);
    expect(seen.map((e) => (e.payload as { name: string }).name)).toEqual(['three']);
    expect((await outbox()).map((r) => r.payload.name)).toEqual(['one', 'three']);
  });

  it('recording outside a seam transaction is a programming error', async () => {
    await expect(
      s.app
        .get(EventsService)
        .record({} as never, event('org.created', actor, { organizationId: 'x', name: 'x' })),
    ).rejects.toThrow(/outside EventsService.transaction/);
  });

  it('relays rows left undelivered (their node died after commit) and prunes old delivered rows', async () => {
    seen.length = 0;
    await s.db.query(
      `INSERT INTO outbox (event, actor, request_id, payload, created_at)
       VALUES ('org.deleted', $1, 'relayed', '{"organizationId":"o4","name":"four"}', now() - interval '5 minutes')`,
      [JSON.stringify({ principal: { kind: 'system', name: 'gone' }, credential: 'system' })],
    );
    await s.db.query(
      `INSERT INTO outbox (event, actor, request_id, payload, created_at, delivered_at)
       VALUES ('org.deleted', '{}', 'old', '{"name":"old"}', now() - interval '3 days', now() - interval '3 days')`,
    );
    await events.sweep();
    expect(seen.map((e) => [e.name, e.requestId])).toEqual([['org.deleted', 'relayed']]);
    const rows = await outbox();
    expect(rows.map((r) => r.payload.name)).toEqual(['one', 'three', 'four']);
    expect(rows.every((r) => r.delivered)).toBe(true);
  });

  it('a subscriber that fails does not fail the committed write; the relay delivers it again', async () => {
    seen.length = 0;
    let failures = 1;
    const off = events.on('org.updated', () => {
      if (failures-- > 0) throw new Error('subscriber down');
    });
    try {
      await events.transaction((m) =>
        events.record(m, event('org.updated', actor, { organizationId: 'o5', name: 'five' })),
      );
      expect(seen.map((e) => e.name)).toEqual(['org.updated']);
      const before = (await outbox()).filter((r) => r.payload.name === 'five');
      expect(before).toEqual([expect.objectContaining({ delivered: false })]);
      // As if a minute had passed: the relay takes it again.
      await s.db.query(
        `UPDATE outbox SET created_at = now() - interval '5 minutes' WHERE payload->>'name' = 'five'`,
      );
      seen.length = 0;
      await events.sweep();
      expect(seen.map((e) => e.name)).toEqual(['org.updated']);
      expect(failures).toBe(-1);
      const after = (await outbox()).filter((r) => r.payload.name === 'five');
      expect(after).toEqual([expect.objectContaining({ delivered: true })]);
    } finally {
      off();
    }
  });
});
