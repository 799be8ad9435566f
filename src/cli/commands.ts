/**
 * The command table of the `fusekit` CLI. Each command loads its module lazily,
 * so `fusekit --help` stays fast and a command only pays for what it uses.
 */
export interface Command {
  name: string;
  usage: string;
  summary: string;
  /** Full help text, shown by `fusekit help <name>` and `fusekit <name> --help`. */
  help: string;
  run(args: string[]): Promise<number>;
}

export const COMMANDS: Command[] = [
  {
    name: 'demo',
    usage: 'fusekit demo <hello|zero|memfs|tracefs|procfs|json> <mountpoint> [-o opt,...] [--debug]',
    summary: 'mount a built-in example filesystem in the foreground',
    help: `Mount a built-in example and serve it until unmounted or signalled.

Examples:
  hello   one read-only file, /hello
  zero    one 1 TiB read-only file, /zero, that reads as zeros (for throughput tests)
  memfs   a complete in-memory POSIX filesystem (files, dirs, links, xattrs, locks, rename flags)
  tracefs a tracing-style tree (2,800 event dirs, 16,000 control files, instances/, trace_pipe), built lazily
  procfs  this Node process: pid, memory, uptime, env/, handles/
  json    a JSON document as a tree, read and write

Options:
  -o opt,...   mount options: allow_other, default_permissions, ro, fsname=N, subtype=N,
               max_read=N, max_write=N, read=poll|uring|threadpool (how /dev/fuse is read),
               spin=N (busy-poll up to N µs after a request; adaptive, default 300, 0 = off),
               reply_thread=0 (write replies inline, not from a thread, during busy polls),
               steer=0 (don't move the reply thread to the client's CPU),
               readers=N (reads in flight for uring/threadpool), clones=N (cloned fds)
  --debug      print every request and reply, decoded
  --unprivileged  mount through fusermount3 even as root`,
    run: async (args) => (await import('./demo.ts')).demoCommand(args),
  },
  {
    name: 'share',
    usage: 'fusekit share <dir> <mountpoint> [options]',
    summary: 'share a host directory at a mountpoint (confined, coherent passthrough)',
    help: `Show host directory <dir> at <mountpoint> with local-filesystem semantics, in the
foreground until unmounted or signalled. See src/passthrough/README.md.

Options:
  --readonly                  refuse every change (EROFS) and mount read-only
  --cache=P                   never | metadata | auto (default) | always
  --passthrough=M             auto (default) | on | off: kernel passthrough of file I/O (root only)
  --map-uid H:C, --map-gid H:C  show host id H as client id C (repeatable)
  --no-default-permissions    let the server check permissions instead of the kernel
  --private                   only the mounting user may use the mount (no allow_other, which
                              root gets by default); the kernel's permission checks are then
                              redundant with the host's and off (-o default_permissions: on)
  --no-watch                  don't watch the host for outside changes
  --fd-cache=N                O_PATH fds kept for hot inodes (default 1024)
  -o opt,...                  mount options, as for 'fusekit demo' (allow_other, ro, spin=N, ...)
  --debug                     print every request and reply`,
    run: async (args) => (await import('./share.ts')).shareCommand(args),
  },
  {
    name: 'mount',
    usage: 'fusekit mount <module.ts|module.js> <mountpoint> [-o opt,...] [--debug]',
    summary: 'mount the virtual-filesystem tree a module exports (fusekit/vfs)',
    help: `Import a module whose default export is a fusekit/vfs Tree (or a root dir(), or a
function returning one), mount it, and serve it until unmounted or signalled.
TypeScript modules are compiled on the fly with the "typescript" package (types are
stripped, not checked); install it (npm i -D typescript) or pass a .js module.
default_permissions is on: the kernel checks the nodes' mode bits.

Options:
  -o opt,...   mount options, as for 'fusekit demo'
  --debug      print every request and reply, decoded
  --unprivileged  mount through fusermount3 even as root

See docs/guide.md.`,
    run: async (args) => (await import('./vfs-mount.ts')).mountCommand(args),
  },
  {
    name: 'unmount',
    usage: 'fusekit unmount <mountpoint> [--lazy]',
    summary: 'unmount a fusekit (or any FUSE) mount',
    help: `Unmount a FUSE filesystem. As root this calls umount2(2); otherwise fusermount3 -u.
--lazy detaches it now and lets it go when the last user leaves (also cleans up a
mount whose server died, which reports ENOTCONN).`,
    run: async (args) => (await import('./unmount.ts')).unmountCommand(args),
  },
];
