import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { BlobFileStream, READ_CHUNK } from '../../src/storage/blob-file-stream.js';

/**
 * A writable that keeps a copy of each chunk only when it reports the chunk written (after a
 * pause): a buffer reused before its write completed would show up as corrupted bytes.
 */
function slowSink(delayMs: number, failAfter?: number) {
  const copies: Buffer[] = [];
  let writes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (failAfter !== undefined && ++writes > failAfter) {
        setTimeout(() => done(new Error('client went away')), delayMs);
        return;
      }
      setTimeout(() => {
        copies.push(Buffer.from(chunk));
        done();
      }, delayMs);
    },
  });
  return { sink, bytes: () => Buffer.concat(copies) };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('BlobFileStream', () => {
  let dir: string;
  let path: string;
  let content: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blob-stream-'));
    path = join(dir, 'blob');
    content = randomBytes(3 * READ_CHUNK + 12345);
    await writeFile(path, content);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('sends the whole file through a slow writable without reusing a buffer in flight', async () => {
    const { sink, bytes } = slowSink(5);
    const finished = new Promise((r) => sink.once('finish', r));
    await new BlobFileStream(await open(path, 'r')).sendTo(sink);
    await finished;
    expect(bytes().length).toBe(content.length);
    expect(sha(bytes())).toBe(sha(content));
  });

  it('sends a byte range (end inclusive)', async () => {
    const range = { start: READ_CHUNK - 7, end: 2 * READ_CHUNK + 99 };
    const { sink, bytes } = slowSink(1);
    const finished = new Promise((r) => sink.once('finish', r));
    await new BlobFileStream(await open(path, 'r'), range).sendTo(sink);
    await finished;
    expect(sha(bytes())).toBe(sha(content.subarray(range.start, range.end + 1)));
  });

  it('reads the same bytes as an ordinary Readable', async () => {
    const chunks: Buffer[] = [];
    for await (const c of new BlobFileStream(await open(path, 'r'), { start: 10, end: 2_000_000 }))
      chunks.push(c as Buffer);
    expect(sha(Buffer.concat(chunks))).toBe(sha(content.subarray(10, 2_000_001)));
  });

  it('stops when the writable fails or closes, and closes the file', async () => {
    const { sink } = slowSink(1, 1);
    sink.on('error', () => undefined);
    const stream = new BlobFileStream(await open(path, 'r'));
    await stream.sendTo(sink);
    expect(stream.destroyed).toBe(true);
    expect(sink.writableFinished).toBe(false);
  });
});
