/** PostgreSQL error codes the services translate into HTTP answers. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_FOREIGN_KEY_VIOLATION = '23503';

/** True when `e` is a PostgreSQL error with that SQLSTATE (TypeORM wraps the driver error). */
export function isPgError(e: unknown, code: string): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const direct = (e as { code?: unknown }).code;
  const driver = (e as { driverError?: { code?: unknown } }).driverError?.code;
  return direct === code || driver === code;
}
