import { Global, Injectable, Module } from '@nestjs/common';

/**
 * Named points inside writes where a service-level test (test/service) can pause the write, to
 * make a race deterministic: e.g. hold a mount after it locked its source, start a competing
 * transaction, and check that it waits. Nothing is registered outside those tests, so a point
 * costs one Map lookup.
 *
 * - `blobs.mount.locked`: a mount holds the source link and blob row (FOR KEY SHARE).
 * - `manifests.put.checked`: a manifest put holds the links of the blobs it references.
 * - `uploads.publish.checked`: an upload completion has read the blob's state, before recording.
 * - `gc.links.listed`: a garbage collection run has listed dangling links, before locking them.
 * - `gc.blobs.doomed`: a run has moved blobs to `deleting`, before its transaction commits.
 * - `admin.bootstrap.read`: the administrator bootstrap has read the name's namespace row, before
 *   it reads the user row (another node may create the administrator in between).
 */
export type HookPoint =
  | 'blobs.mount.locked'
  | 'manifests.put.checked'
  | 'uploads.publish.checked'
  | 'gc.links.listed'
  | 'gc.blobs.doomed'
  | 'admin.bootstrap.read';

@Injectable()
export class TestHooks {
  private readonly hooks = new Map<HookPoint, () => Promise<void>>();

  /** Runs `fn` whenever a write reaches `point` (until the returned function is called). */
  set(point: HookPoint, fn: () => Promise<void>): () => void {
    this.hooks.set(point, fn);
    return () => this.hooks.delete(point);
  }

  async at(point: HookPoint): Promise<void> {
    const hook = this.hooks.get(point);
    if (hook) await hook();
  }
}

@Global()
@Module({ providers: [TestHooks], exports: [TestHooks] })
export class TestHooksModule {}
