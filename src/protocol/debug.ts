/**
 * One-line request and reply traces in the style of libfuse's `-d`:
 *
 *     unique: 12, opcode: LOOKUP (1), nodeid: 1, insize: 49, pid: 330  name="hello"
 *        unique: 12, success, outsize: 144
 *        unique: 13, error: -2 (No such file or directory), outsize: 16
 *
 * Names are decoded as UTF-8; bytes that are not valid UTF-8 and non-printable
 * characters are escaped (`\xff`, `\n`, `\u200b`), so a trace is always one line.
 * Pure: returns strings, logs nothing.
 */
import { errnoName } from '../errors.ts';
import type { Request } from './decode.ts';
import { opcodeName } from './opcodes.ts';
import { iovLength } from './encode.ts';

/** Short strerror texts for the errnos a filesystem commonly returns. */
const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted', ENOENT: 'No such file or directory', EINTR: 'Interrupted system call',
  EIO: 'Input/output error', ENXIO: 'No such device or address', E2BIG: 'Argument list too long',
  EBADF: 'Bad file descriptor', EAGAIN: 'Resource temporarily unavailable', ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied', EBUSY: 'Device or resource busy', EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link', ENODEV: 'No such device', ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory', EINVAL: 'Invalid argument', ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files', ENOTTY: 'Inappropriate ioctl for device', ETXTBSY: 'Text file busy',
  EFBIG: 'File too large', ENOSPC: 'No space left on device', ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system', EMLINK: 'Too many links', ERANGE: 'Numerical result out of range',
  EDEADLK: 'Resource deadlock avoided', ENAMETOOLONG: 'File name too long', ENOLCK: 'No locks available',
  ENOSYS: 'Function not implemented', ENOTEMPTY: 'Directory not empty', ELOOP: 'Too many levels of symbolic links',
  ENODATA: 'No data available', EOVERFLOW: 'Value too large for defined data type',
  EOPNOTSUPP: 'Operation not supported', ENOTSUP: 'Operation not supported', ECONNABORTED: 'Software caused connection abort',
  ENOTCONN: 'Transport endpoint is not connected', ESTALE: 'Stale file handle',
};

/** errno → "No such file or directory" (or the symbolic name when no text is known). */
export function strerror(errno: number): string {
  const name = errnoName(errno);
  return STRERROR[name] ?? name;
}

/** A name (raw bytes) as a double-quoted, escaped, one-line string. */
export function quoteName(name: Buffer | string): string {
  const b = typeof name === 'string' ? Buffer.from(name) : name;
  let out = '"';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n === 1) {
      if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
      else if (c === 0x0a) out += '\\n';
      else if (c === 0x09) out += '\\t';
      else if (c === 0x0d) out += '\\r';
      else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
      else out += String.fromCharCode(c);
      i++;
      continue;
    }
    const seq = n > 0 && i + n <= b.length ? b.subarray(i, i + n) : undefined;
    const s = seq !== undefined ? seq.toString('utf8') : '';
    // A valid sequence decodes to one code point and re-encodes to the same bytes.
    if (seq !== undefined && !s.includes('\ufffd') && Buffer.from(s).equals(seq)) {
      const cp = s.codePointAt(0)!;
      const invisible = (cp >= 0x80 && cp < 0xa0) || cp === 0xad || (cp >= 0x200b && cp <= 0x200f) ||
        (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp === 0xfeff || (cp >= 0xd800 && cp <= 0xdfff);
      out += invisible ? `\\u${cp.toString(16).padStart(4, '0')}` : s;
      i += n;
    } else {
      out += '\\x' + c.toString(16).padStart(2, '0');
      i++;
    }
  }
  return out + '"';
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
const oct = (n: number): string => `0${n.toString(8)}`;

/** The key body fields of a request, as ` k=v` pairs. */
function bodyFields(req: Request): string {
  switch (req.op) {
    case 'lookup': case 'unlink': case 'rmdir': case 'removexattr':
      return `name=${quoteName(req.body.name)}`;
    case 'forget': return `nlookup=${req.body.nlookup}`;
    case 'getattr': return `getattr_flags=${hex(req.body.getattrFlags)} fh=${req.body.fh}`;
    case 'setattr': {
      const b = req.body;
      return `valid=${hex(b.valid)} fh=${b.fh} size=${b.size} mode=${oct(b.mode)} uid=${b.uid} gid=${b.gid}`;
    }
    case 'symlink': return `name=${quoteName(req.body.name)} target=${quoteName(req.body.target)}`;
    case 'mknod': return `name=${quoteName(req.body.name)} mode=${oct(req.body.mode)} rdev=${hex(req.body.rdev)} umask=${oct(req.body.umask)}`;
    case 'mkdir': return `name=${quoteName(req.body.name)} mode=${oct(req.body.mode)} umask=${oct(req.body.umask)}`;
    case 'rename':
      return `name=${quoteName(req.body.name)} newdir=${req.body.newdir} newname=${quoteName(req.body.newname)} flags=${hex(req.body.flags)}`;
    case 'link': return `oldnodeid=${req.body.oldnodeid} name=${quoteName(req.body.name)}`;
    case 'open': case 'opendir': return `flags=${hex(req.body.flags)} open_flags=${hex(req.body.openFlags)}`;
    case 'read': return `fh=${req.body.fh} offset=${req.body.offset} size=${req.body.size} flags=${hex(req.body.flags)}`;
    case 'readdir': case 'readdirplus': return `fh=${req.body.fh} offset=${req.body.cookie} size=${req.body.size}`;
    case 'write':
      return `fh=${req.body.fh} offset=${req.body.offset} size=${req.body.size} write_flags=${hex(req.body.writeFlags)} flags=${hex(req.body.flags)}`;
    case 'release': case 'releasedir':
      return `fh=${req.body.fh} flags=${hex(req.body.flags)} release_flags=${hex(req.body.releaseFlags)} lock_owner=${hex(req.body.lockOwner)}`;
    case 'fsync': case 'fsyncdir': return `fh=${req.body.fh} fsync_flags=${hex(req.body.fsyncFlags)}`;
    case 'setxattr':
      return `name=${quoteName(req.body.name)} size=${req.body.size} flags=${hex(req.body.flags)} setxattr_flags=${hex(req.body.setxattrFlags)}`;
    case 'getxattr': return `name=${quoteName(req.body.name)} size=${req.body.size}`;
    case 'listxattr': return `size=${req.body.size}`;
    case 'flush': return `fh=${req.body.fh} lock_owner=${hex(req.body.lockOwner)}`;
    case 'init': case 'cuse_init':
      return `version=${req.body.major}.${req.body.minor} max_readahead=${hex(req.body.maxReadahead)} flags=${hex(req.body.flags)}`;
    case 'getlk': case 'setlk': case 'setlkw': {
      const { lk } = req.body;
      return `fh=${req.body.fh} owner=${hex(req.body.owner)} start=${lk.start} end=${lk.end} type=${lk.type} pid=${lk.pid} lk_flags=${hex(req.body.lkFlags)}`;
    }
    case 'access': return `mask=${oct(req.body.mask)}`;
    case 'create': case 'tmpfile':
      return `name=${quoteName(req.body.name)} flags=${hex(req.body.flags)} mode=${oct(req.body.mode)} umask=${oct(req.body.umask)}`;
    case 'interrupt': return `unique=${req.body.unique}`;
    case 'bmap': return `block=${req.body.block} blocksize=${req.body.blocksize}`;
    case 'ioctl':
      return `fh=${req.body.fh} cmd=${hex(req.body.cmd)} arg=${hex(req.body.arg)} flags=${hex(req.body.flags)} in_size=${req.body.inSize} out_size=${req.body.outSize}`;
    case 'poll': return `fh=${req.body.fh} kh=${req.body.kh} flags=${hex(req.body.flags)} events=${hex(req.body.events)}`;
    case 'notify_reply': return `offset=${req.body.offset} size=${req.body.size}`;
    case 'batch_forget': return `count=${req.body.forgets.length}`;
    case 'fallocate': return `fh=${req.body.fh} offset=${req.body.offset} length=${req.body.length} mode=${hex(req.body.mode)}`;
    case 'lseek': return `fh=${req.body.fh} offset=${req.body.offset} whence=${req.body.whence}`;
    case 'copy_file_range': case 'copy_file_range_64': {
      const b = req.body;
      return `fh_in=${b.fhIn} off_in=${b.offIn} nodeid_out=${b.nodeidOut} fh_out=${b.fhOut} off_out=${b.offOut} len=${b.len} flags=${hex(b.flags)}`;
    }
    case 'setupmapping':
      return `fh=${req.body.fh} foffset=${req.body.foffset} len=${req.body.len} flags=${hex(req.body.flags)} moffset=${req.body.moffset}`;
    case 'removemapping': return `count=${req.body.mappings.length}`;
    case 'statx': return `getattr_flags=${hex(req.body.getattrFlags)} fh=${req.body.fh} sx_flags=${hex(req.body.sxFlags)} sx_mask=${hex(req.body.sxMask)}`;
    case 'readlink': case 'statfs': case 'destroy': case 'syncfs':
      return '';
  }
}

/** `unique: 12, opcode: LOOKUP (1), nodeid: 1, insize: 49, pid: 330  name="hello"` */
export function formatRequest(req: Request): string {
  const h = req.header;
  let line = `unique: ${h.unique}, opcode: ${opcodeName(h.opcode)} (${h.opcode}), nodeid: ${h.nodeid}, insize: ${h.len}, pid: ${h.pid}`;
  const fields = bodyFields(req);
  if (fields !== '') line += `  ${fields}`;
  if (req.ext?.groups !== undefined) line += ` groups=[${req.ext.groups.join(',')}]`;
  if (req.ext?.secctx !== undefined) line += ` secctx=[${req.ext.secctx.map((c) => quoteName(c.name)).join(',')}]`;
  return line;
}

/**
 * `   unique: 12, success, outsize: 144` or `   unique: 13, error: -2 (No such file or directory), outsize: 16`.
 * `result` is a positive (or negated) errno for an error reply, or the reply's
 * size as `{ outsize }` or as the iovec itself. `opName` is accepted for callers
 * that have it; libfuse's format does not print it.
 */
export function formatReply(unique: bigint, opName: string, result: number | { outsize: number } | readonly Buffer[]): string {
  void opName;
  if (typeof result === 'number') {
    const errno = Math.abs(result);
    if (errno === 0) return `   unique: ${unique}, success, outsize: 16`;
    return `   unique: ${unique}, error: -${errno} (${strerror(errno)}), outsize: 16`;
  }
  const outsize = Array.isArray(result) ? iovLength(result as readonly Buffer[]) : (result as { outsize: number }).outsize;
  return `   unique: ${unique}, success, outsize: ${outsize}`;
}
