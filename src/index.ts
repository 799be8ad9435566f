/**
 * fusekit: FUSE filesystems in TypeScript, without libfuse.
 *
 * - `mount(fs, mountpoint, options)` serves a LowLevelFs (the protocol engine's API).
 * - `fusekit/vfs` builds virtual filesystems from object trees.
 * - `fusekit/protocol` is the pure wire codec; `fusekit/session` the engine.
 */
export { mount, parseMountOptions } from './mount.ts';
export type { MountHandle, MountOptions } from './mount.ts';
export * from './errors.ts';
export * from './session/index.ts';
export { MemoryTransport } from './transport/memory.ts';
export { DevFuseTransport, IO_URING_ACTIVE } from './transport/dev-fuse.ts';
export type * from './protocol/types.ts';
export { InitFlag, FopenFlag, Fattr, RenameFlag, Opcode, NotifyCode, ROOT_ID } from './protocol/abi.ts';
