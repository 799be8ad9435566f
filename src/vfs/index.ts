/**
 * fusekit/vfs: write a virtual filesystem as a tree of nodes over your objects.
 *
 * Start with `docs/guide.md`; the concepts are in the `api` module's doc.
 */
export { attribute, callbackFile, dir, file, generated, lazyDir, stream, symlink } from './api.ts';
export { VDir, nameHash, type DirOptions, type ListEntry } from './dir.ts';
export {
  AttributeFile, CallbackFile, GeneratedFile, StaticFile, VFile, invalid, Poll,
  type AttributeOptions, type CallbackFileOptions, type Content, type FileOptions, type GeneratedFileOptions,
  type IoctlHandler, type StaticFileOptions,
} from './files.ts';
export { StreamFile, type StreamOptions } from './stream.ts';
export { NodeState, VNode, VSymlink, type CachePolicy, type NodeOptions } from './inode.ts';
export { OpenFile } from './handles.ts';
export { Tree, createTree, type MountLink, type TreeOptions } from './tree.ts';
export { TreeBridge, VERSION_XATTR } from './bridge.ts';
export { VfsTestClient, type TestClientOptions } from './testing.ts';
export { mountTree } from './mount-tree.ts';
