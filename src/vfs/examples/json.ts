/**
 * `json`: a JSON document (or any plain JavaScript object) mounted as a tree.
 *
 * Objects and arrays are directories, other values are files holding their
 * text (strings raw, everything else as JSON) plus a newline. Reading a file
 * shows the value *now*: values are attributes served from a per-open snapshot
 * with DIRECT_IO and attribute timeout 0, so code that assigns `doc.a.b = 5`
 * is visible to the next `cat` and `stat` at once, with no call needed. `set()`
 * also bumps the version and invalidates every mount's caches.
 *
 * Writing a file parses the text as the value's current type (number,
 * boolean, null, or JSON for anything else; strings take the text as is);
 * mkdir adds an empty object, creating a file adds an empty string, rm and
 * rmdir delete keys.
 */
import { readFileSync } from 'node:fs';
import { attribute, lazyDir } from '../api.ts';
import type { VDir } from '../dir.ts';
import { invalid } from '../files.ts';
import type { VNode } from '../inode.ts';
import { createTree, type Tree, type TreeOptions } from '../tree.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Container = { [k: string]: Json } | Json[];

function isContainer(v: unknown): v is Container {
  return typeof v === 'object' && v !== null;
}

function text(v: Json): string {
  return `${typeof v === 'string' ? v : JSON.stringify(v)}\n`;
}

function parseLike(old: Json | undefined, raw: string): Json {
  const t = raw.replace(/\n$/, '');
  if (typeof old === 'string' || old === undefined) return t;
  if (typeof old === 'number') {
    const n = Number(t.trim());
    if (t.trim() === '' || !Number.isFinite(n)) throw invalid(`expected a number, got ${JSON.stringify(t.slice(0, 40))}`);
    return n;
  }
  if (typeof old === 'boolean') {
    if (t.trim() === 'true') return true;
    if (t.trim() === 'false') return false;
    throw invalid(`expected true or false, got ${JSON.stringify(t.slice(0, 40))}`);
  }
  try {
    return JSON.parse(t) as Json;
  } catch (e) {
    throw invalid(`not JSON: ${(e as Error).message}`);
  }
}

function keys(c: Container): string[] {
  return Array.isArray(c) ? c.map((_, i) => String(i)) : Object.keys(c).filter((k) => k !== '' && !k.includes('/') && k !== '.' && k !== '..');
}

export interface JsonTree extends Tree {
  readonly doc: Container;
  /** Set the value at `path` (slash-separated) and invalidate the kernel's caches. */
  set(path: string, value: Json): void;
}

export function jsonTree(doc: Container, o: TreeOptions = {}): JsonTree {
  // Each directory finds its container by path from the document each time, so code that
  // replaces a whole object (doc.author = {...}) is seen as well as code that edits one.
  const dirs = new Map<string, VDir>();
  const at = (path: readonly string[]): Json | undefined => {
    let c: Json | undefined = doc;
    for (const p of path) c = isContainer(c) ? (c as Record<string, Json>)[p] : undefined;
    return c;
  };

  function node(path: readonly string[]): VNode | undefined {
    const v = at(path);
    if (v === undefined) return undefined;
    if (isContainer(v)) return containerDir(path);
    const parent = path.slice(0, -1);
    const key = path[path.length - 1]!;
    return attribute({
      cache: { attr: 0, entry: 0 },
      show: () => {
        const cur = at(path);
        return cur === undefined || isContainer(cur) ? '' : text(cur);
      },
      store: (raw) => {
        const c = at(parent);
        if (!isContainer(c)) throw invalid('the value is gone');
        (c as Record<string, Json>)[key] = parseLike((c as Record<string, Json>)[key], raw);
      },
    });
  }

  function containerDir(path: readonly string[]): VDir {
    const here = (): Container => {
      const c = at(path);
      if (!isContainer(c)) throw invalid('not an object any more');
      return c;
    };
    const drop = (name: string): void => {
      const c = here();
      if (Array.isArray(c)) c.splice(Number(name), 1);
      else delete c[name];
    };
    const d = lazyDir({
      cache: { attr: 0, entry: 0 },
      lookup: (name) => (isContainer(at(path)) ? node([...path, name]) : undefined),
      list: () => (isContainer(at(path)) ? keys(here()) : []),
      mkdir: (name) => {
        const c = here();
        if (Array.isArray(c)) throw invalid('mkdir in an array');
        c[name] = {};
      },
      create: (name) => {
        const c = here();
        if (Array.isArray(c)) throw invalid('create in an array');
        c[name] = '';
      },
      unlink: drop,
      rmdir: drop,
    });
    dirs.set(path.join('/'), d);
    return d;
  }

  const root = containerDir([]);
  const tree = createTree(root, { cache: { entry: 0, attr: 0 }, ...o }) as JsonTree;
  Object.assign(tree, {
    doc,
    set(p: string, value: Json) {
      const parts = p.split('/').filter(Boolean);
      const last = parts.pop();
      if (last === undefined) throw new Error('set: empty path');
      const c = at(parts);
      if (!isContainer(c)) throw new Error(`set: ${parts.join('/')} is not an object`);
      const existed = last in c;
      (c as Record<string, Json>)[last] = value;
      const d = dirs.get(parts.join('/'));
      if (d && d.state !== 3) {
        if (existed) d.changedChild(last);
        else tree.entryAdded(d, last);
      }
    },
  });
  return tree;
}

/** The default export for `fusekit mount`: $FUSEKIT_JSON (a file) or a small sample document. */
export default function (): JsonTree {
  const f = process.env.FUSEKIT_JSON;
  const doc = f ? (JSON.parse(readFileSync(f, 'utf8')) as Container) : {
    name: 'fusekit', version: '0.1.0', private: true, stars: 0,
    author: { name: 'you', email: 'you@example.com' },
    keywords: ['fuse', 'filesystem', 'typescript'],
  };
  const t = jsonTree(doc);
  // A value that code changes while mounted: `cat ticks` shows it at once.
  if (!f) {
    (doc as Record<string, Json>).ticks = 0;
    setInterval(() => ((doc as Record<string, Json>).ticks = ((doc as Record<string, Json>).ticks as number) + 1), 1000).unref();
  }
  return t;
}
