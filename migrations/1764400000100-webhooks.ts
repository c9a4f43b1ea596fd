import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks of a namespace and their deliveries (src/webhooks/). A delivery row is inserted in the
 * transaction of the write whose event it carries; dispatchers on every node claim due rows with
 * FOR UPDATE SKIP LOCKED and a lease (`locked_until`), and record each attempt.
 */
export class Webhooks1764400000100 implements MigrationInterface {
  name = 'Webhooks1764400000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhooks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        namespace varchar(255) NOT NULL REFERENCES namespaces(name) ON DELETE CASCADE,
        url text NOT NULL,
        secret text,
        events text[] NOT NULL,
        repositories text[] NOT NULL DEFAULT '{}',
        enabled boolean NOT NULL DEFAULT true,
        created_by uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webhooks_namespace ON webhooks (namespace)`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        webhook_id uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event_id text NOT NULL,
        event_type varchar(16) NOT NULL,
        body jsonb NOT NULL,
        state varchar(12) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        lock_token uuid,
        last_status integer,
        last_error text,
        redelivery_of uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (state IN ('pending', 'delivered', 'failed'))
      )`);
    await q.query(
      `CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'`,
    );
    await q.query(
      `CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries (webhook_id, created_at DESC, id)`,
    );
    await q.query(
      `CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at) WHERE state <> 'pending'`,
    );
    await q.query(`
      CREATE TABLE webhook_attempts (
        id bigserial PRIMARY KEY,
        delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        started_at timestamptz NOT NULL,
        duration_ms integer NOT NULL,
        status_code integer,
        error text
      )`);
    await q.query(`CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS webhook_attempts`);
    await q.query(`DROP TABLE IF EXISTS webhook_deliveries`);
    await q.query(`DROP TABLE IF EXISTS webhooks`);
  }
}
