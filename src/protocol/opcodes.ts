/**
 * The single opcode table: one record per opcode, holding every fact about it
 * that the codec, the session and the debug trace need (GF's idea, without its
 * parallel maps). `satisfies Record<Opcode, OpSpec>` makes adding an Opcode
 * without a record a type error.
 *
 * - `name`: kernel spelling without `FUSE_` (debug traces).
 * - `op`: the op name used in every layer (`Request.op`); RENAME2 shares `rename`.
 * - `in`: the fixed request struct (or `'none'`), `inSize` its minimum size in
 *   bytes (the decoder checks it before reading), `names`: NUL-terminated names
 *   that follow it.
 * - `out`: the reply struct, `'data'` (variable payload), `'dirents'`, or
 *   `'none'` (header-only success reply); `outSize` its fixed size, or 0.
 * - `noReply`: the kernel expects no reply at all (FORGET, BATCH_FORGET, NOTIFY_REPLY).
 * - `since`: protocol minor that introduced the opcode. 8 means "7.8 or
 *   earlier" (the kernel's changelog starts at 7.9).
 */
import { Opcode, Size } from './abi.ts';
import type { OpName } from './decode.ts';

export interface OpSpec {
  readonly name: string;
  readonly op: OpName;
  readonly in: string;
  readonly inSize: number;
  readonly names: number;
  readonly out: string;
  readonly outSize: number;
  readonly noReply: boolean;
  readonly since: number;
}

const E = Size.ENTRY_OUT;

export const OPCODES = {
  [Opcode.LOOKUP]: { name: 'LOOKUP', op: 'lookup', in: 'none', inSize: 0, names: 1, out: 'fuse_entry_out', outSize: E, noReply: false, since: 8 },
  [Opcode.FORGET]: { name: 'FORGET', op: 'forget', in: 'fuse_forget_in', inSize: Size.FORGET_IN, names: 0, out: 'none', outSize: 0, noReply: true, since: 8 },
  [Opcode.GETATTR]: { name: 'GETATTR', op: 'getattr', in: 'fuse_getattr_in', inSize: Size.GETATTR_IN, names: 0, out: 'fuse_attr_out', outSize: Size.ATTR_OUT, noReply: false, since: 8 },
  [Opcode.SETATTR]: { name: 'SETATTR', op: 'setattr', in: 'fuse_setattr_in', inSize: Size.SETATTR_IN, names: 0, out: 'fuse_attr_out', outSize: Size.ATTR_OUT, noReply: false, since: 8 },
  [Opcode.READLINK]: { name: 'READLINK', op: 'readlink', in: 'none', inSize: 0, names: 0, out: 'data', outSize: 0, noReply: false, since: 8 },
  [Opcode.SYMLINK]: { name: 'SYMLINK', op: 'symlink', in: 'none', inSize: 0, names: 2, out: 'fuse_entry_out', outSize: E, noReply: false, since: 8 },
  [Opcode.MKNOD]: { name: 'MKNOD', op: 'mknod', in: 'fuse_mknod_in', inSize: Size.MKNOD_IN, names: 1, out: 'fuse_entry_out', outSize: E, noReply: false, since: 8 },
  [Opcode.MKDIR]: { name: 'MKDIR', op: 'mkdir', in: 'fuse_mkdir_in', inSize: Size.MKDIR_IN, names: 1, out: 'fuse_entry_out', outSize: E, noReply: false, since: 8 },
  [Opcode.UNLINK]: { name: 'UNLINK', op: 'unlink', in: 'none', inSize: 0, names: 1, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.RMDIR]: { name: 'RMDIR', op: 'rmdir', in: 'none', inSize: 0, names: 1, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.RENAME]: { name: 'RENAME', op: 'rename', in: 'fuse_rename_in', inSize: Size.RENAME_IN, names: 2, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.LINK]: { name: 'LINK', op: 'link', in: 'fuse_link_in', inSize: Size.LINK_IN, names: 1, out: 'fuse_entry_out', outSize: E, noReply: false, since: 8 },
  [Opcode.OPEN]: { name: 'OPEN', op: 'open', in: 'fuse_open_in', inSize: Size.OPEN_IN, names: 0, out: 'fuse_open_out', outSize: Size.OPEN_OUT, noReply: false, since: 8 },
  [Opcode.READ]: { name: 'READ', op: 'read', in: 'fuse_read_in', inSize: Size.READ_IN, names: 0, out: 'data', outSize: 0, noReply: false, since: 8 },
  [Opcode.WRITE]: { name: 'WRITE', op: 'write', in: 'fuse_write_in', inSize: Size.WRITE_IN, names: 0, out: 'fuse_write_out', outSize: Size.WRITE_OUT, noReply: false, since: 8 },
  [Opcode.STATFS]: { name: 'STATFS', op: 'statfs', in: 'none', inSize: 0, names: 0, out: 'fuse_statfs_out', outSize: Size.STATFS_OUT, noReply: false, since: 8 },
  [Opcode.RELEASE]: { name: 'RELEASE', op: 'release', in: 'fuse_release_in', inSize: Size.RELEASE_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.FSYNC]: { name: 'FSYNC', op: 'fsync', in: 'fuse_fsync_in', inSize: Size.FSYNC_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.SETXATTR]: { name: 'SETXATTR', op: 'setxattr', in: 'fuse_setxattr_in', inSize: Size.SETXATTR_IN_COMPAT, names: 1, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.GETXATTR]: { name: 'GETXATTR', op: 'getxattr', in: 'fuse_getxattr_in', inSize: Size.GETXATTR_IN, names: 1, out: 'fuse_getxattr_out|data', outSize: 0, noReply: false, since: 8 },
  [Opcode.LISTXATTR]: { name: 'LISTXATTR', op: 'listxattr', in: 'fuse_getxattr_in', inSize: Size.GETXATTR_IN, names: 0, out: 'fuse_getxattr_out|data', outSize: 0, noReply: false, since: 8 },
  [Opcode.REMOVEXATTR]: { name: 'REMOVEXATTR', op: 'removexattr', in: 'none', inSize: 0, names: 1, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.FLUSH]: { name: 'FLUSH', op: 'flush', in: 'fuse_flush_in', inSize: Size.FLUSH_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  // fuse_init_in is 64 bytes since 7.36; older kernels send 16.
  [Opcode.INIT]: { name: 'INIT', op: 'init', in: 'fuse_init_in', inSize: 16, names: 0, out: 'fuse_init_out', outSize: Size.INIT_OUT, noReply: false, since: 8 },
  [Opcode.OPENDIR]: { name: 'OPENDIR', op: 'opendir', in: 'fuse_open_in', inSize: Size.OPEN_IN, names: 0, out: 'fuse_open_out', outSize: Size.OPEN_OUT, noReply: false, since: 8 },
  [Opcode.READDIR]: { name: 'READDIR', op: 'readdir', in: 'fuse_read_in', inSize: Size.READ_IN, names: 0, out: 'dirents', outSize: 0, noReply: false, since: 8 },
  [Opcode.RELEASEDIR]: { name: 'RELEASEDIR', op: 'releasedir', in: 'fuse_release_in', inSize: Size.RELEASE_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.FSYNCDIR]: { name: 'FSYNCDIR', op: 'fsyncdir', in: 'fuse_fsync_in', inSize: Size.FSYNC_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.GETLK]: { name: 'GETLK', op: 'getlk', in: 'fuse_lk_in', inSize: Size.LK_IN, names: 0, out: 'fuse_lk_out', outSize: Size.LK_OUT, noReply: false, since: 8 },
  [Opcode.SETLK]: { name: 'SETLK', op: 'setlk', in: 'fuse_lk_in', inSize: Size.LK_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.SETLKW]: { name: 'SETLKW', op: 'setlkw', in: 'fuse_lk_in', inSize: Size.LK_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.ACCESS]: { name: 'ACCESS', op: 'access', in: 'fuse_access_in', inSize: Size.ACCESS_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.CREATE]: { name: 'CREATE', op: 'create', in: 'fuse_create_in', inSize: Size.CREATE_IN, names: 1, out: 'fuse_entry_out+fuse_open_out', outSize: E + Size.OPEN_OUT, noReply: false, since: 8 },
  [Opcode.INTERRUPT]: { name: 'INTERRUPT', op: 'interrupt', in: 'fuse_interrupt_in', inSize: Size.INTERRUPT_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.BMAP]: { name: 'BMAP', op: 'bmap', in: 'fuse_bmap_in', inSize: Size.BMAP_IN, names: 0, out: 'fuse_bmap_out', outSize: Size.BMAP_OUT, noReply: false, since: 8 },
  [Opcode.DESTROY]: { name: 'DESTROY', op: 'destroy', in: 'none', inSize: 0, names: 0, out: 'none', outSize: 0, noReply: false, since: 8 },
  [Opcode.IOCTL]: { name: 'IOCTL', op: 'ioctl', in: 'fuse_ioctl_in', inSize: Size.IOCTL_IN, names: 0, out: 'fuse_ioctl_out', outSize: 0, noReply: false, since: 11 },
  [Opcode.POLL]: { name: 'POLL', op: 'poll', in: 'fuse_poll_in', inSize: Size.POLL_IN, names: 0, out: 'fuse_poll_out', outSize: Size.POLL_OUT, noReply: false, since: 11 },
  [Opcode.NOTIFY_REPLY]: { name: 'NOTIFY_REPLY', op: 'notify_reply', in: 'fuse_notify_retrieve_in', inSize: Size.NOTIFY_RETRIEVE_IN, names: 0, out: 'none', outSize: 0, noReply: true, since: 15 },
  [Opcode.BATCH_FORGET]: { name: 'BATCH_FORGET', op: 'batch_forget', in: 'fuse_batch_forget_in', inSize: Size.BATCH_FORGET_IN, names: 0, out: 'none', outSize: 0, noReply: true, since: 16 },
  [Opcode.FALLOCATE]: { name: 'FALLOCATE', op: 'fallocate', in: 'fuse_fallocate_in', inSize: Size.FALLOCATE_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 19 },
  [Opcode.READDIRPLUS]: { name: 'READDIRPLUS', op: 'readdirplus', in: 'fuse_read_in', inSize: Size.READ_IN, names: 0, out: 'direntplus', outSize: 0, noReply: false, since: 21 },
  [Opcode.RENAME2]: { name: 'RENAME2', op: 'rename', in: 'fuse_rename2_in', inSize: Size.RENAME2_IN, names: 2, out: 'none', outSize: 0, noReply: false, since: 23 },
  [Opcode.LSEEK]: { name: 'LSEEK', op: 'lseek', in: 'fuse_lseek_in', inSize: Size.LSEEK_IN, names: 0, out: 'fuse_lseek_out', outSize: Size.LSEEK_OUT, noReply: false, since: 24 },
  [Opcode.COPY_FILE_RANGE]: { name: 'COPY_FILE_RANGE', op: 'copy_file_range', in: 'fuse_copy_file_range_in', inSize: Size.COPY_FILE_RANGE_IN, names: 0, out: 'fuse_write_out', outSize: Size.WRITE_OUT, noReply: false, since: 28 },
  [Opcode.SETUPMAPPING]: { name: 'SETUPMAPPING', op: 'setupmapping', in: 'fuse_setupmapping_in', inSize: Size.SETUPMAPPING_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 31 },
  [Opcode.REMOVEMAPPING]: { name: 'REMOVEMAPPING', op: 'removemapping', in: 'fuse_removemapping_in', inSize: Size.REMOVEMAPPING_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 31 },
  [Opcode.SYNCFS]: { name: 'SYNCFS', op: 'syncfs', in: 'fuse_syncfs_in', inSize: Size.SYNCFS_IN, names: 0, out: 'none', outSize: 0, noReply: false, since: 34 },
  [Opcode.TMPFILE]: { name: 'TMPFILE', op: 'tmpfile', in: 'fuse_create_in', inSize: Size.CREATE_IN, names: 1, out: 'fuse_entry_out+fuse_open_out', outSize: E + Size.OPEN_OUT, noReply: false, since: 37 },
  [Opcode.STATX]: { name: 'STATX', op: 'statx', in: 'fuse_statx_in', inSize: Size.STATX_IN, names: 0, out: 'fuse_statx_out', outSize: Size.STATX_OUT, noReply: false, since: 39 },
  [Opcode.COPY_FILE_RANGE_64]: { name: 'COPY_FILE_RANGE_64', op: 'copy_file_range_64', in: 'fuse_copy_file_range_in', inSize: Size.COPY_FILE_RANGE_IN, names: 0, out: 'fuse_copy_file_range_out', outSize: Size.COPY_FILE_RANGE_OUT, noReply: false, since: 45 },
  // cuse_init_in {major; minor; unused; flags} shares fuse_init_in's first 16 bytes; reply cuse_init_out (72) + device info.
  [Opcode.CUSE_INIT]: { name: 'CUSE_INIT', op: 'cuse_init', in: 'cuse_init_in', inSize: 16, names: 0, out: 'cuse_init_out', outSize: 0, noReply: false, since: 12 },
} as const satisfies Record<Opcode, OpSpec>;

/** The spec of an opcode number, or undefined for an unknown one. */
export function opSpec(opcode: number): OpSpec | undefined {
  return Object.hasOwn(OPCODES, opcode) ? (OPCODES as Record<number, OpSpec>)[opcode] : undefined;
}

/** The kernel name of an opcode number (`LOOKUP`), or `OPCODE_<n>` if unknown. */
export function opcodeName(opcode: number): string {
  return opSpec(opcode)?.name ?? `OPCODE_${opcode}`;
}

/** Every opcode number in the table, ascending. */
export const ALL_OPCODES: readonly Opcode[] = Object.freeze(
  Object.keys(OPCODES).map(Number).sort((a, b) => a - b) as Opcode[],
);
