import { createConnection } from 'node:net';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisReachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = createConnection(Number(u.port || 6379), u.hostname);
    s.once('connect', () => {
      s.end();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Redis-backed tests run when TEST_REDIS_URL answers; in CI a missing Redis fails the run. */
export async function redisRequired(): Promise<boolean> {
  if (await redisReachable(TEST_REDIS_URL)) return true;
  if (process.env.CI === 'true')
    throw new Error(`Redis is required in CI at ${TEST_REDIS_URL} (TEST_REDIS_URL)`);
  console.warn(
    `No Redis at ${TEST_REDIS_URL}: skipping the tests that need a shared Redis (set TEST_REDIS_URL)`,
  );
  return false;
}
