#!/usr/bin/env node
// Writes a synthetic container image for push/pull tests and examples, with nothing but Node.
//
//   node scripts/mkimage.mjs DIR TAG SIZE[,SIZE...] [--seed S] [--gzip] [--platform os/arch[,os/arch...]]
//   node scripts/mkimage.mjs --docker-archive FILE.tar REF SIZE[,SIZE...] [--seed S]
//
// Each SIZE (bytes; k, m or g suffix) is one layer holding that many bytes of pseudo-random file
// content, the same for the same seed. The first form writes (or adds TAG to) the OCI image
// layout DIR: push it with `skopeo copy oci:DIR:TAG docker://HOST/REPO:TAG`. With several
// platforms, TAG names an OCI image index over one image per platform (`skopeo copy --all`). The
// second form writes a `docker load` archive whose image is tagged REF (e.g.
// localhost:8080/admin/app:v1). Prints the digest of the manifest (or index) written, or for an
// archive the image ID. Layers are streamed to disk while being hashed, never held in memory.
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const FILE_CHUNK = 64 * 1024 * 1024; // one file per 64 MiB of a layer
const ZEROS = Buffer.alloc(1024 * 1024);

function usage(message) {
  if (message) console.error(`mkimage: ${message}`);
  console.error(
    'usage: mkimage.mjs DIR TAG SIZE[,SIZE...] [--seed S] [--gzip] [--platform os/arch[,...]]\n' +
      '       mkimage.mjs --docker-archive FILE.tar REF SIZE[,SIZE...] [--seed S]',
  );
  process.exit(2);
}

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(s.trim());
  if (!m) usage(`bad size "${s}"`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()];
  return Math.floor(Number(m[1]) * unit);
}

function parseArgs(argv) {
  const opts = { seed: '1', gzip: false, platforms: ['linux/amd64'], archive: false };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seed') opts.seed = argv[++i] ?? usage('--seed needs a value');
    else if (a === '--gzip') opts.gzip = true;
    else if (a === '--docker-archive') opts.archive = true;
    else if (a === '--platform')
      opts.platforms = (argv[++i] ?? usage('--platform needs a value')).split(',');
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 3) usage();
  const [out, tag, sizes] = positional;
  opts.sizes = sizes.split(',').map(parseSize);
  for (const p of opts.platforms) if (!/^[a-z0-9]+\/[a-z0-9]+$/.test(p)) usage(`bad platform ${p}`);
  if (opts.archive && (opts.platforms.length > 1 || opts.gzip))
    usage('--docker-archive writes one uncompressed image: no --gzip, one --platform');
  return { out, tag, ...opts };
}

const octal = (n, width) => n.toString(8).padStart(width, '0') + '\0';

/** One 512-byte ustar header (owner root, mtime 0). */
function tarHeader(name, size, type = '0', mode = 0o644) {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 7), 100);
  h.write(octal(0, 7), 108);
  h.write(octal(0, 7), 116);
  h.write(octal(size, 11), 124);
  h.write(octal(0, 11), 136);
  h.fill(' ', 148, 156);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 6) + ' ', 148);
  return h;
}

const padding = (size) => Buffer.alloc((512 - (size % 512)) % 512);

/** A deterministic, incompressible byte stream for one layer (AES-CTR keystream of the seed). */
function* keystream(key, size) {
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  for (let left = size; left > 0; left -= ZEROS.length)
    yield cipher.update(left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
}

/** The tar stream of layer `index`: a folder with `size` bytes spread over files of 64 MiB. */
function* layerTar(index, size, key) {
  yield tarHeader(`layer${index}/`, 0, '5', 0o755);
  let n = 0;
  let left = size;
  do {
    const chunk = Math.min(left, FILE_CHUNK);
    yield tarHeader(`layer${index}/file${n}`, chunk);
    yield* keystream(createHash('sha256').update(`${key}/${n}`).digest(), chunk);
    yield padding(chunk);
    left -= chunk;
    n++;
  } while (left > 0);
  yield Buffer.alloc(1024);
}

function tap(onChunk) {
  return new Transform({
    transform(chunk, _enc, cb) {
      onChunk(chunk);
      cb(null, chunk);
    },
  });
}

/** Streams `source` into blobs/sha256 of the layout, hashing on the way; returns the descriptor. */
async function writeBlobStream(root, source, { gzip = false } = {}) {
  const raw = createHash('sha256');
  const stored = createHash('sha256');
  let size = 0;
  const tmp = join(root, 'blobs', 'sha256', `.tmp-${process.pid}-${Math.random().toString(36)}`);
  await pipeline(
    Readable.from(source),
    tap((c) => raw.update(c)),
    ...(gzip ? [createGzip({ level: 1 })] : []),
    tap((c) => {
      stored.update(c);
      size += c.length;
    }),
    createWriteStream(tmp),
  );
  const hex = stored.digest('hex');
  await rename(tmp, join(root, 'blobs', 'sha256', hex));
  return { digest: `sha256:${hex}`, size, diffId: `sha256:${raw.digest('hex')}` };
}

async function writeBlob(root, bytes) {
  const hex = createHash('sha256').update(bytes).digest('hex');
  const path = join(root, 'blobs', 'sha256', hex);
  if (!existsSync(path)) await writeFile(path, bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

async function writeImage(root, { tag, sizes, seed, gzip }, platform) {
  const [os, architecture] = platform.split('/');
  const layers = [];
  const diffIds = [];
  for (const [i, size] of sizes.entries()) {
    const key = `${seed}/${platform}/${i}/${size}`;
    const blob = await writeBlobStream(root, layerTar(i, size, key), { gzip });
    layers.push({ mediaType: gzip ? `${LAYER_TAR}+gzip` : LAYER_TAR, ...pick(blob) });
    diffIds.push(blob.diffId);
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os,
      created: '2026-01-01T00:00:00Z',
      config: { Labels: { 'aerugo.mkimage.seed': seed, 'aerugo.mkimage.tag': tag } },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const configDesc = { mediaType: OCI_CONFIG, ...(await writeBlob(root, config)) };
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers }),
  );
  return {
    mediaType: OCI_MANIFEST,
    ...(await writeBlob(root, manifest)),
    platform: { os, architecture },
  };
}

const pick = ({ digest, size }) => ({ digest, size });

async function writeLayout(root, opts) {
  await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(root, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const images = [];
  for (const p of opts.platforms) images.push(await writeImage(root, opts, p));
  let top = images[0];
  if (images.length > 1) {
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: images }),
    );
    top = { mediaType: OCI_INDEX, ...(await writeBlob(root, index)) };
  }
  const indexPath = join(root, 'index.json');
  const index = existsSync(indexPath)
    ? JSON.parse(await readFile(indexPath, 'utf8'))
    : { schemaVersion: 2, manifests: [] };
  const refName = 'org.opencontainers.image.ref.name';
  index.manifests = index.manifests.filter((m) => m.annotations?.[refName] !== opts.tag);
  index.manifests.push({
    mediaType: top.mediaType,
    ...pick(top),
    annotations: { [refName]: opts.tag },
  });
  await writeFile(indexPath, JSON.stringify(index));
  return top.digest;
}

/** A `docker load` archive: manifest.json, the config and one uncompressed tar per layer. */
async function writeDockerArchive(file, opts) {
  const work = await mkdtemp(join(tmpdir(), 'mkimage-'));
  try {
    const top = await writeLayout(work, { ...opts, tag: 'image' });
    const blob = (d) => join(work, 'blobs', 'sha256', d.slice('sha256:'.length));
    const manifest = JSON.parse(await readFile(blob(top), 'utf8'));
    const hex = (d) => d.slice('sha256:'.length);
    const entries = [
      { name: `${hex(manifest.config.digest)}.json`, path: blob(manifest.config.digest) },
      ...manifest.layers.map((l) => ({ name: `${hex(l.digest)}/layer.tar`, path: blob(l.digest) })),
    ];
    const index = Buffer.from(
      JSON.stringify([
        {
          Config: entries[0].name,
          RepoTags: [opts.tag],
          Layers: entries.slice(1).map((e) => e.name),
        },
      ]),
    );
    async function* archive() {
      for (const e of entries) {
        const { size } = await stat(e.path);
        if (e.name.includes('/')) yield tarHeader(`${dirname(e.name)}/`, 0, '5', 0o755);
        yield tarHeader(e.name, size);
        yield* createReadStream(e.path);
        yield padding(size);
      }
      yield tarHeader('manifest.json', index.length);
      yield index;
      yield padding(index.length);
      yield Buffer.alloc(1024);
    }
    await mkdir(dirname(file), { recursive: true });
    await pipeline(Readable.from(archive()), createWriteStream(file));
    return manifest.config.digest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

const opts = parseArgs(process.argv.slice(2));
const digest = opts.archive
  ? await writeDockerArchive(opts.out, opts)
  : await writeLayout(opts.out, opts);
console.log(digest);
