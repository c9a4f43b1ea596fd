import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A blob's lifecycle state (see registry/blobs.service.ts): `live`, `candidate` (unreferenced,
 * chosen for collection; touching it revives it) or `deleting` (its bytes are being removed; it
 * reads as absent). Every existing blob is live.
 */
export class BlobState1764200000001 implements MigrationInterface {
  name = 'BlobState1764200000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE blobs ADD COLUMN state varchar(16) NOT NULL DEFAULT 'live'
         CHECK (state IN ('live', 'candidate', 'deleting'))`,
    );
    await q.query(`CREATE INDEX blobs_not_live ON blobs (state) WHERE state <> 'live'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS blobs_not_live`);
    await q.query(`ALTER TABLE blobs DROP COLUMN IF EXISTS state`);
  }
}
