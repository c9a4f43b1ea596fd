import { describe, expect, it } from '@jest/globals';
import { freePort } from '../../src/database/embedded-postgres.js';

describe("the embedded PostgreSQL's port", () => {
  it('is never one the node is about to listen on, though it is free while PostgreSQL picks', async () => {
    const offered = [8080, 9464, 8080, 41000];
    const pick = async () => offered.shift()!;
    expect(await freePort([8080, 9464], pick)).toBe(41000);
    expect(offered).toEqual([]);
  });

  it('takes the first free port when the node avoids none of them', async () => {
    expect(await freePort([], async () => 8080)).toBe(8080);
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
  });
});
