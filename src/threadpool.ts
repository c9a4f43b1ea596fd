// Imported first by main.ts: libuv reads UV_THREADPOOL_SIZE once, when its thread pool first
// starts (the first file, DNS or crypto job), so it must be set before any other module runs.
// argon2 runs on that pool as well as blob file I/O: a pool larger than PASSWORD_HASH_CONCURRENCY
// (config.ts refuses anything else) always leaves threads to I/O. An invalid value is left alone
// here and reported by loadConfig, which stops start-up naming the variable.
import { DEFAULT_THREADPOOL_SIZE } from './config/config.js';

if (!process.env.UV_THREADPOOL_SIZE?.trim())
  process.env.UV_THREADPOOL_SIZE = String(DEFAULT_THREADPOOL_SIZE);
