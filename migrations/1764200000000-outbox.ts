import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox: one row per committed write, inserted in the write's own transaction
 * (EventsService.record). `delivered_at` is set once the in-process subscribers have run; the
 * relay delivers rows left undelivered, and delivered rows are pruned after a day.
 */
export class Outbox1764200000000 implements MigrationInterface {
  name = 'Outbox1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        event text NOT NULL,
        actor jsonb NOT NULL,
        request_id text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL`);
    await q.query(
      `CREATE INDEX outbox_delivered_at ON outbox (delivered_at) WHERE delivered_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS outbox`);
  }
}
