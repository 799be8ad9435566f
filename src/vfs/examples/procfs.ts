/**
 * `procfs`: the Node process itself, as /proc shows a process.
 *
 *     /pid          static: process.pid
 *     /uptime       generated: seconds since start (changes on every read; attribute timeout 0)
 *     /memory       generated: process.memoryUsage(), one "name bytes" line each
 *     /cmdline      static: argv, NUL-separated
 *     /env/         lazy: one read-only file per environment variable; listed from process.env
 *     /handles/     lazy: one file per live libuv handle (sockets, servers, pipes, timers…), numbered
 *                   for life: entries come and go as the process opens and closes them
 *     /ctl          write "listen" to open a TCP server (a handle appears), "close <n>" to close handle n
 *
 * `handles/` shows the identity rule for lazy children: a number is given to a
 * handle object once (WeakMap) and never reused, so a handle that closes and a
 * new one that opens never share an inode number or a name.
 */
import net from 'node:net';
import { attribute, dir, file, generated, lazyDir } from '../api.ts';
import type { VDir } from '../dir.ts';
import { invalid } from '../files.ts';
import { createTree, type Tree, type TreeOptions } from '../tree.ts';

type Handle = { constructor: { name: string }; close?: (cb?: () => void) => void; address?: () => unknown; unref?: () => void };

const ids = new WeakMap<object, number>();
let nextId = 1;

function activeHandles(): Map<string, Handle> {
  const out = new Map<string, Handle>();
  const list = (process as unknown as { _getActiveHandles(): Handle[] })._getActiveHandles();
  for (const h of list) {
    if (h instanceof net.Server && !h.listening) continue; // closed, not yet collected by libuv
    let id = ids.get(h);
    if (id === undefined) ids.set(h, (id = nextId++));
    out.set(`${id}-${h.constructor.name}`, h);
  }
  return out;
}

function describe(h: Handle): string {
  const lines = [`type: ${h.constructor.name}`];
  try {
    const a = h.address?.();
    if (a) lines.push(`address: ${JSON.stringify(a)}`);
  } catch {
    /* not bound */
  }
  return `${lines.join('\n')}\n`;
}

export function procfs(o: TreeOptions = {}): Tree {
  const servers: net.Server[] = [];
  const env = lazyDir({
    lookup: (name) => (process.env[name] === undefined ? undefined : generated(() => `${process.env[name] ?? ''}\n`)),
    list: () => Object.keys(process.env),
  });
  let handles: VDir;
  handles = lazyDir({
    lookup: (name) => {
      const h = activeHandles().get(name);
      // Long timeouts on purpose: a handle that closes is announced (forgetChild → DELETE), not timed out.
      return h ? generated(() => describe(h), { identity: name, cache: { entry: 60, attr: 60 } }) : undefined;
    },
    list: () => [...activeHandles().keys()],
  });
  const root = dir({
    pid: file(`${process.pid}\n`),
    uptime: generated(() => `${process.uptime().toFixed(2)}\n`),
    memory: generated(() => Object.entries(process.memoryUsage()).map(([k, v]) => `${k} ${v}\n`).join('')),
    cmdline: file(`${process.argv.join('\0')}\0`),
    env,
    handles,
    ctl: attribute({
      mode: 0o600,
      show: () => 'commands: listen | close <handle>\n',
      store: async (v) => {
        const [cmd, arg] = v.trim().split(/\s+/);
        if (cmd === 'listen') {
          const s = net.createServer();
          await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
          servers.push(s);
          return;
        }
        if (cmd === 'close' && arg) {
          const key = [...activeHandles().keys()].find((k) => k === arg || k.startsWith(`${arg}-`));
          const h = key ? activeHandles().get(key) : undefined;
          if (!h || !(h instanceof net.Server)) throw invalid(`no closable server handle ${JSON.stringify(arg)}`);
          await new Promise<void>((r) => h.close(() => r()));
          await handles.forgetChild(key!);
          return;
        }
        throw invalid(`unknown command ${JSON.stringify(v.trim().slice(0, 40))}`);
      },
    }),
  });
  return createTree(root, o);
}

export default procfs;
