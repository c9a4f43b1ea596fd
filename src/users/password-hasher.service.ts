import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { hashPassword, verifyPassword } from './passwords.js';

/** Counters of the work done since start (tests and diagnostics). */
export interface HasherStats {
  hashes: number;
  verifications: number;
  /** Most argon2 operations seen running at once. */
  maxRunning: number;
  /** Operations waiting for a slot right now. */
  waiting: number;
}

/**
 * Runs argon2 (hashing and verification) at most `PASSWORD_HASH_CONCURRENCY` at a time per node.
 * argon2 runs on libuv's thread pool, which blob file I/O, DNS lookups and zlib share: with the
 * pool larger than this bound (config.ts refuses anything else; `npm start` and the Docker image
 * set UV_THREADPOOL_SIZE=8), a flood of password checks queues here instead of taking every
 * thread from other users' pulls.
 */
@Injectable()
export class PasswordHasherService {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private readonly counters: HasherStats = {
    hashes: 0,
    verifications: 0,
    maxRunning: 0,
    waiting: 0,
  };
  private readonly limit: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.limit = config.auth.passwordHashConcurrency;
  }

  get stats(): Readonly<HasherStats> {
    return { ...this.counters, waiting: this.queue.length };
  }

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    else this.running++;
    // A released slot passes straight to the next waiter, so `running` stays at most `limit`.
    this.counters.maxRunning = Math.max(this.counters.maxRunning, this.running);
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }

  hash(password: string): Promise<string> {
    this.counters.hashes++;
    return this.slot(() => hashPassword(password));
  }

  /** See verifyPassword: without a hash it still spends the time of one verification. */
  verify(hash: string | undefined, password: string): Promise<boolean> {
    this.counters.verifications++;
    return this.slot(() => verifyPassword(hash, password));
  }
}
