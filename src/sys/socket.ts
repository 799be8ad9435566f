/**
 * Unix socket pairs and fd passing (SCM_RIGHTS), which Node cannot do: used to
 * receive the /dev/fuse fd from fusermount3, and available for handing fds to
 * helper processes.
 *
 * `struct msghdr` holds pointers, so it is laid out by hand in one Buffer
 * together with the iovec, data and control areas it points into, using the
 * Buffer's own address (`koffi.address`). Node Buffer memory is off-heap and
 * never moves, and the one Buffer is an argument of the call, so it stays
 * alive. Layout is LP64 (x86_64, arm64).
 */
import koffi from 'koffi';
import { check, libc, sysError } from './ffi.ts';

/** Socket constants used here (Linux). */
export const SOCK = {
  AF_UNIX: 1,
  STREAM: 1,
  DGRAM: 2,
  SEQPACKET: 5,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SCM_RIGHTS: 1,
  MSG_DONTWAIT: 0x40,
  MSG_CTRUNC: 0x08,
  MSG_CMSG_CLOEXEC: 0x40000000,
} as const;

const socketpairFn = libc.func('int socketpair(int domain, int type, int protocol, void *sv)');
const recvmsgFn = libc.func('long recvmsg(int fd, void *msg, int flags)');
const sendmsgFn = libc.func('long sendmsg(int fd, const void *msg, int flags)');
const closeFn = libc.func('int close(int fd)');

/** socketpair(AF_UNIX, type|SOCK_CLOEXEC): two connected fds. */
export function socketpair(type: number = SOCK.STREAM): [number, number] {
  const sv = Buffer.alloc(8);
  check(socketpairFn(SOCK.AF_UNIX, type | SOCK.CLOEXEC, 0, sv) as number, 'socketpair');
  return [sv.readInt32LE(0), sv.readInt32LE(4)];
}

// CMSG_SPACE(sizeof(int)) = CMSG_ALIGN(16) + CMSG_ALIGN(4) = 24; CMSG_LEN(4) = 20.
const CMSG_HDR = 16;
const CMSG_SPACE_INT = 24;
const CMSG_LEN_INT = 20;

// One Buffer holds everything the kernel follows pointers into, so nothing the
// call needs can be collected while it runs: [msghdr 56][iovec 16][data 8][control].
const MSG = 0;
const IOV = 56;
const DATA = 72;
const DATA_LEN = 8;
const CONTROL = 80;

function message(controlLen: number, dataLen: number): Buffer {
  const b = Buffer.alloc(CONTROL + controlLen);
  const base = koffi.address(b);
  b.writeBigUInt64LE(base + BigInt(DATA), IOV); // iov_base
  b.writeBigUInt64LE(BigInt(dataLen), IOV + 8); // iov_len
  // msg_name = NULL @0, msg_namelen = 0 @8
  b.writeBigUInt64LE(base + BigInt(IOV), MSG + 16); // msg_iov
  b.writeBigUInt64LE(1n, MSG + 24); // msg_iovlen
  b.writeBigUInt64LE(base + BigInt(CONTROL), MSG + 32); // msg_control
  b.writeBigUInt64LE(BigInt(controlLen), MSG + 40); // msg_controllen
  return b;
}

/**
 * recvmsg(2) one message and return the first fd passed with it (opened
 * O_CLOEXEC). Any further fds in the message are closed. `flags` may add
 * SOCK.MSG_DONTWAIT. Throws ENOMSG if the message (or EOF) carried no fd.
 * Blocks the thread unless the socket has data or MSG_DONTWAIT is given.
 */
export function recvFd(sock: number, flags = 0): number {
  const b = message(CMSG_SPACE_INT * 4, DATA_LEN);
  check(recvmsgFn(sock, b, flags | SOCK.MSG_CMSG_CLOEXEC) as number, 'recvmsg');
  const controllen = Number(b.readBigUInt64LE(MSG + 40));
  const fds: number[] = [];
  for (let p = CONTROL; p + CMSG_HDR <= CONTROL + controllen; ) {
    const len = Number(b.readBigUInt64LE(p));
    if (len < CMSG_HDR) break;
    const level = b.readInt32LE(p + 8);
    const type = b.readInt32LE(p + 12);
    if (level === SOCK.SOL_SOCKET && type === SOCK.SCM_RIGHTS) {
      for (let q = p + CMSG_HDR; q + 4 <= p + len; q += 4) fds.push(b.readInt32LE(q));
    }
    p += (len + 7) & ~7;
  }
  const [fd, ...extra] = fds;
  for (const x of extra) closeFn(x);
  if (fd === undefined) throw sysError('recvmsg', null, 42 /* ENOMSG */);
  return fd;
}

/** sendmsg(2) one byte with `fd` attached (SCM_RIGHTS). The sender keeps its fd. */
export function sendFd(sock: number, fd: number): void {
  const b = message(CMSG_SPACE_INT, 1);
  b.writeBigUInt64LE(BigInt(CMSG_LEN_INT), CONTROL);
  b.writeInt32LE(SOCK.SOL_SOCKET, CONTROL + 8);
  b.writeInt32LE(SOCK.SCM_RIGHTS, CONTROL + 12);
  b.writeInt32LE(fd, CONTROL + 16);
  check(sendmsgFn(sock, b, 0) as number, 'sendmsg');
}
