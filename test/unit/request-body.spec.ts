// The upload body wrapper (src/registry/request-body.ts): stopping it early discards the rest of
// the body instead of cutting the connection, within its bounds.
import { describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { uploadBody } from '../../src/registry/request-body.js';

const piece = (n: number, fill = 1) => Buffer.alloc(n, fill);

/** A request body the test writes to; `read` counts what left it, whoever read it. */
function body(): PassThrough & { read_: () => number } {
  const s = new PassThrough({ autoDestroy: false }) as PassThrough & { read_: () => number };
  let read = 0;
  s.on('data', (d: Buffer) => (read += d.length));
  s.pause();
  s.read_ = () => read;
  return s;
}

describe('uploadBody', () => {
  it('yields every piece of a body read to its end, unchanged', async () => {
    const req = body();
    const b = uploadBody(req);
    req.write(piece(3, 1));
    req.write(piece(5, 2));
    req.end(piece(2, 3));
    const got: Buffer[] = [];
    for await (const p of b) got.push(p);
    expect(Buffer.concat(got)).toEqual(Buffer.concat([piece(3, 1), piece(5, 2), piece(2, 3)]));
    expect(req.destroyed).toBe(false);
  });

  it('stopped while a read waits: the read fails with the reason, the rest is read and discarded', async () => {
    const req = body();
    const b = uploadBody(req);
    const it = b[Symbol.asyncIterator]();
    req.write(piece(4));
    expect((await it.next()).value).toEqual(piece(4));
    const waiting = it.next(); // nothing sent yet
    const lost = new Error('lease lost');
    b.destroy!(lost);
    await expect(waiting).rejects.toBe(lost);
    await expect(it.next()).rejects.toBe(lost);
    // The client goes on sending its body: all of it is taken off the wire, the request ends
    // normally, and nothing destroyed it (the error answer can be read by the client).
    req.write(piece(1000));
    req.end(piece(1000));
    await once(req, 'end');
    expect(req.destroyed).toBe(false);
    expect(req.read_()).toBe(2004);
  });

  it('a reader that gives up (a chunk longer than declared) leaves the rest to be discarded', async () => {
    const req = body();
    const b = uploadBody(req);
    req.write(piece(10));
    req.write(piece(10));
    req.end(piece(10));
    let taken = 0;
    for await (const p of b) {
      taken += p.length;
      if (taken >= 10) break;
    }
    if (!req.readableEnded) await once(req, 'end');
    expect(req.destroyed).toBe(false);
    expect(req.read_()).toBe(30);
  });

  it('more than maxBytes left: the connection is closed instead', async () => {
    const req = body();
    const b = uploadBody(req, { maxBytes: 100, maxMs: 60_000 });
    b.destroy!(new Error('stop'));
    req.write(piece(60));
    req.write(piece(60));
    await once(req, 'close');
    expect(req.destroyed).toBe(true);
  });

  it('a client that stops sending: the connection is closed after maxMs', async () => {
    const req = body();
    const b = uploadBody(req, { maxBytes: 1 << 20, maxMs: 20 });
    const it = b[Symbol.asyncIterator]();
    const waiting = it.next();
    b.destroy!(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await once(req, 'close');
    expect(req.destroyed).toBe(true);
  });

  it('stopping a body already read to its end changes nothing', async () => {
    const req = body();
    const b = uploadBody(req);
    req.end(piece(5));
    for await (const p of b) expect(p.length).toBe(5);
    b.destroy!(new Error('late'));
    expect(req.destroyed).toBe(false);
  });
});

describe('uploadBody read-ahead', () => {
  it('pauses the request past its read-ahead and resumes as the reader takes pieces', async () => {
    const req = body();
    const b = uploadBody(req);
    const it = b[Symbol.asyncIterator]();
    const first = it.next(); // starts reading
    for (let i = 0; i < 20; i++) req.write(piece(128 * 1024));
    await first;
    await new Promise((r) => setImmediate(r));
    expect(req.isPaused()).toBe(true);
    let got = 128 * 1024;
    while (got < 20 * 128 * 1024) got += ((await it.next()).value as Buffer).length;
    expect(req.isPaused()).toBe(false);
    req.end();
    expect((await it.next()).done).toBe(true);
  });

  it('a client that goes away mid-body fails the read', async () => {
    const req = body();
    const b = uploadBody(req);
    const it = b[Symbol.asyncIterator]();
    req.write(piece(10));
    expect((await it.next()).value).toEqual(piece(10));
    const waiting = it.next();
    req.destroy();
    await expect(waiting).rejects.toThrow('aborted');
  });
});
