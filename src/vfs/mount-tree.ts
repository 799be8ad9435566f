/**
 * `mountTree`: mount a tree with one call. Each call makes a new bridge (the
 * mount's own node-id table); the tree and its objects are shared, so the same
 * tree may be mounted many times.
 */
import { mount, type MountHandle, type MountOptions } from '../mount.ts';
import { TreeBridge } from './bridge.ts';
import type { Tree } from './tree.ts';

/**
 * Mount `tree` at `mountpoint`; resolves once the kernel has finished INIT.
 * `default_permissions` is on unless `defaultPermissions: false`: the kernel then
 * checks mode bits itself, which is what users of a virtual filesystem expect.
 */
export async function mountTree(tree: Tree, mountpoint: string, opts: MountOptions = {}): Promise<MountHandle> {
  return mount(new TreeBridge(tree), mountpoint, { fsname: 'fusekit-vfs', defaultPermissions: true, ...opts });
}
