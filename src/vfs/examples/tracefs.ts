/**
 * `tracefs`: a tracing-style tree the size of a real one, built lazily.
 *
 *     /README                 static text
 *     /tracing_on             attribute 0|1
 *     /current_tracer         attribute (nop, function, function_graph)
 *     /available_events       every "subsystem:event", generated
 *     /trace_pipe             stream: a line per enabled event per tick, and trace_marker text
 *     /trace_marker           write-only: each write appears in trace_pipe
 *     /events/enable          attribute 0|1|X over every event
 *     /events/<subsys>/       100 subsystems, lazy
 *         enable, filter      per-subsystem attributes
 *         <event>/            28 events each (2,800), lazy
 *             enable filter format id trigger [hist]   (16,066 control files in all)
 *     /instances/             mkdir creates an instance (own tracing_on, trace_pipe, events/enable); rmdir removes it
 *
 * Nothing per event exists until it is looked up: the state of 2,800 events is
 * two typed arrays and a Map of non-default filters. Like eventfs, each event
 * directory's files come from a fixed table; unlike eventfs, every file has its
 * own stable inode number.
 */
import { constants } from 'node:fs';
import { attribute, dir, file, generated, lazyDir, stream } from '../api.ts';
import type { VDir } from '../dir.ts';
import { invalid } from '../files.ts';
import type { VNode } from '../inode.ts';
import { createTree, type Tree, type TreeOptions } from '../tree.ts';

const REAL: [string, string[]][] = [
  ['sched', ['sched_switch', 'sched_wakeup', 'sched_wakeup_new', 'sched_process_fork', 'sched_process_exec', 'sched_process_exit', 'sched_migrate_task', 'sched_stat_runtime']],
  ['irq', ['irq_handler_entry', 'irq_handler_exit', 'softirq_entry', 'softirq_exit', 'softirq_raise']],
  ['syscalls', ['sys_enter_openat', 'sys_exit_openat', 'sys_enter_read', 'sys_exit_read', 'sys_enter_write', 'sys_exit_write']],
  ['block', ['block_rq_issue', 'block_rq_complete', 'block_bio_queue']],
  ['kmem', ['kmalloc', 'kfree', 'mm_page_alloc', 'mm_page_free']],
  ['net', ['net_dev_xmit', 'netif_receive_skb', 'napi_gro_receive_entry']],
  ['fuse', ['fuse_request_send', 'fuse_request_end']],
  ['timer', ['timer_start', 'timer_expire_entry', 'hrtimer_start', 'hrtimer_expire_entry']],
];
export const SUBSYSTEMS = 100;
export const EVENTS_PER_SUBSYSTEM = 28;
export const EVENTS = SUBSYSTEMS * EVENTS_PER_SUBSYSTEM;

function subsysName(s: number): string {
  return s < REAL.length ? REAL[s]![0] : `subsys${String(s).padStart(3, '0')}`;
}
function eventName(s: number, k: number): string {
  const real = s < REAL.length ? REAL[s]![1][k] : undefined;
  return real ?? `${subsysName(s)}_event${String(k).padStart(2, '0')}`;
}
/** Events whose index is a multiple of 3 have no `hist` file (as on kernels where some events lack it). */
function hasHist(idx: number): boolean {
  return idx % 3 !== 0;
}

const EVENT_FILES: readonly { name: string; type: number }[] = ['enable', 'filter', 'format', 'id', 'trigger'].map((name) => ({ name, type: constants.S_IFREG }));
const EVENT_FILES_HIST: readonly { name: string; type: number }[] = [...EVENT_FILES, { name: 'hist', type: constants.S_IFREG }];

const FILTER_RE = /^\s*[a-z_][a-z0-9_]*\s*(==|!=|<=|>=|<|>|~)\s*("[^"]*"|-?\w+)\s*((&&|\|\|)\s*[a-z_][a-z0-9_]*\s*(==|!=|<=|>=|<|>|~)\s*("[^"]*"|-?\w+)\s*)*$/;
const TRIGGERS = ['traceon', 'traceoff', 'snapshot', 'stacktrace', 'enable_event', 'disable_event', 'hist'];

/** The tracer's state: what the files show and change. */
export class TraceState {
  readonly enabled = new Uint8Array(EVENTS);
  readonly hits = new Uint32Array(EVENTS);
  readonly filters = new Map<number, string>();
  readonly triggers = new Map<number, string>();
  tracingOn = 1;
  tracer = 'nop';

  /** subsystem → its index; event name → global index. */
  subsysIndex(name: string): number | undefined {
    for (let s = 0; s < SUBSYSTEMS; s++) if (subsysName(s) === name) return s;
    return undefined;
  }
  eventIndex(s: number, name: string): number | undefined {
    // No table: synthetic names carry their number, and the real ones are a short list.
    const m = /_event(\d\d)$/.exec(name);
    if (m) {
      const k = Number(m[1]);
      return k < EVENTS_PER_SUBSYSTEM && eventName(s, k) === name ? s * EVENTS_PER_SUBSYSTEM + k : undefined;
    }
    const k = s < REAL.length ? REAL[s]![1].indexOf(name) : -1;
    return k < 0 ? undefined : s * EVENTS_PER_SUBSYSTEM + k;
  }
  /** "0", "1" or "X" over a range of events. */
  summary(from: number, to: number): string {
    let on = 0;
    for (let i = from; i < to; i++) on += this.enabled[i]!;
    return on === 0 ? '0' : on === to - from ? '1' : 'X';
  }
}

function parseBool(v: string): 0 | 1 {
  const t = v.trim();
  if (t === '0' || t === '1') return Number(t) as 0 | 1;
  throw invalid(`expected 0 or 1, got ${JSON.stringify(t.slice(0, 40))}`);
}

function formatText(idx: number, name: string): string {
  return `name: ${name}
ID: ${1000 + idx}
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;
\tfield:int value;\toffset:16;\tsize:4;\tsigned:1;

print fmt: "ip=%lx value=%d", REC->ip, REC->value
`;
}

export interface TracefsOptions extends TreeOptions {
  /** Milliseconds between generated trace lines while events are enabled (default 100). */
  tickMs?: number;
}

/** Build the tracefs example. `state` and `pipe` are exposed for tests and for code that traces. */
export function tracefs(o: TracefsOptions = {}): Tree & { state: TraceState; pipe: import('../stream.ts').StreamFile } {
  const st = new TraceState();
  const pipe = stream({ capacity: 256 * 1024 });
  const subsysDirs = (events: VDir): VDir[] => [...events.live.values()].filter((n): n is VDir => n.type === constants.S_IFDIR);

  /** Tell the kernel that live `enable` files under these dirs changed. */
  const enableChanged = (d: VDir): void => {
    d.changedChild('enable');
    for (const c of d.live.values()) if (c.type === constants.S_IFDIR) enableChanged(c as VDir);
  };

  /** The control file `entry` of event `idx` (called `name`), made when looked up. */
  function eventFile(entry: string, idx: number, name: string): VNode | undefined {
    switch (entry) {
      case 'enable':
        return attribute({
          show: () => `${st.enabled[idx]}\n`,
          store: (v) => {
            st.enabled[idx] = parseBool(v);
            schedule();
          },
        });
      case 'filter':
        return attribute({
          show: () => `${st.filters.get(idx) ?? 'none'}\n`,
          store: (v) => {
            const t = v.trim();
            if (t === '0' || t === '') st.filters.delete(idx);
            else if (FILTER_RE.test(t)) st.filters.set(idx, t);
            else throw invalid(`bad filter expression ${JSON.stringify(t.slice(0, 60))} for ${name}`);
          },
        });
      case 'format':
        return file(formatText(idx, name));
      case 'id':
        return file(`${1000 + idx}\n`);
      case 'trigger':
        return attribute({
          show: () => (st.triggers.has(idx) ? `${st.triggers.get(idx)}\n` : `# Available triggers:\n# ${TRIGGERS.join(' ')}\n`),
          store: (v) => {
            const t = v.trim();
            const word = t.replace(/^!/, '').split(/[:\s]/)[0] ?? '';
            if (!TRIGGERS.includes(word)) throw invalid(`unknown trigger ${JSON.stringify(word)}`);
            if (t.startsWith('!')) st.triggers.delete(idx);
            else st.triggers.set(idx, t);
          },
        });
      case 'hist':
        // The histogram changes only in tick(), which tells the kernel (histChanged), so its size
        // may be cached like any announced attribute instead of re-asked at every stat.
        if (!hasHist(idx)) return undefined;
        return generated(() => `# event histogram\n#\n# trigger info: hist:keys=common_pid:vals=hitcount\n\nTotals:\n    Hits: ${st.hits[idx]}\n`, { cache: { attr: 10 } });
      default:
        return undefined;
    }
  }

  function eventDir(idx: number, name: string): VDir {
    // One lookup closure per event directory, and the listing is a shared constant.
    const listing = hasHist(idx) ? EVENT_FILES_HIST : EVENT_FILES;
    return lazyDir({
      lookup: (n) => eventFile(n, idx, name),
      list: () => listing,
      listChanges: 'notified', // the files of an event never change
    });
  }

  function subsysDir(s: number): VDir {
    const from = s * EVENTS_PER_SUBSYSTEM;
    const to = from + EVENTS_PER_SUBSYSTEM;
    let self: VDir;
    const filters = new Map<number, string>();
    self = lazyDir({
      lookup: (n) => {
        if (n === 'enable') {
          return attribute({
            show: () => `${st.summary(from, to)}\n`,
            store: (v) => {
              const b = parseBool(v);
              st.enabled.fill(b, from, to);
              enableChanged(self);
              schedule();
            },
          });
        }
        if (n === 'filter') {
          return attribute({
            show: () => `${filters.get(s) ?? 'none'}\n`,
            store: (v) => {
              const t = v.trim();
              if (t === '0' || t === '') filters.delete(s);
              else if (FILTER_RE.test(t)) filters.set(s, t);
              else throw invalid(`bad filter expression ${JSON.stringify(t.slice(0, 60))}`);
            },
          });
        }
        const idx = st.eventIndex(s, n);
        return idx === undefined ? undefined : eventDir(idx, n);
      },
      list: function* () {
        yield { name: 'enable', type: constants.S_IFREG };
        yield { name: 'filter', type: constants.S_IFREG };
        for (let k = 0; k < EVENTS_PER_SUBSYSTEM; k++) yield { name: eventName(s, k), type: constants.S_IFDIR };
      },
      listChanges: 'notified',
    });
    return self;
  }

  const events: VDir = dir({
    enable: attribute({
      show: () => `${st.summary(0, EVENTS)}\n`,
      store: (v) => {
        st.enabled.fill(parseBool(v));
        for (const d of subsysDirs(events)) enableChanged(d);
        schedule();
      },
    }),
  }, {
    lookup: (n) => {
      const s = st.subsysIndex(n);
      return s === undefined ? undefined : subsysDir(s);
    },
    list: function* () {
      for (let s = 0; s < SUBSYSTEMS; s++) yield { name: subsysName(s), type: constants.S_IFDIR };
    },
    listChanges: 'notified',
  });

  const marker = (p: typeof pipe) => attribute({
    mode: 0o220,
    show: () => '',
    store: (v) => {
      p.push(`           <...>-${process.pid}    [000] .....  ${(performance.now() / 1000).toFixed(6)}: tracing_mark_write: ${v.endsWith('\n') ? v : `${v}\n`}`);
    },
  });

  const instance = (): VDir => {
    const ipipe = stream({ capacity: 64 * 1024 });
    let on = 1;
    let all = 0;
    return dir({
      tracing_on: attribute({ show: () => `${on}\n`, store: (v) => void (on = parseBool(v)) }),
      trace_pipe: ipipe,
      trace_marker: marker(ipipe),
      events: dir({ enable: attribute({ show: () => `${all}\n`, store: (v) => void (all = parseBool(v)) }) }),
    });
  };

  const root = dir({
    README: file('fusekit tracefs example: a tracing-style tree served lazily from userspace.\nTry: cat events/sched/sched_switch/format; echo 1 > events/sched/sched_switch/enable; cat trace_pipe\n'),
    tracing_on: attribute({ show: () => `${st.tracingOn}\n`, store: (v) => { st.tracingOn = parseBool(v); schedule(); } }),
    current_tracer: attribute({
      show: () => `${st.tracer}\n`,
      store: (v) => {
        const t = v.trim();
        if (!['nop', 'function', 'function_graph'].includes(t)) throw invalid(`no such tracer ${JSON.stringify(t)}`);
        st.tracer = t;
      },
    }),
    available_events: generated(() => {
      const lines: string[] = [];
      for (let s = 0; s < SUBSYSTEMS; s++) for (let k = 0; k < EVENTS_PER_SUBSYSTEM; k++) lines.push(`${subsysName(s)}:${eventName(s, k)}\n`);
      return lines.join('');
    }, { cache: { attr: 3600 } }),
    trace_pipe: pipe,
    trace_marker: marker(pipe),
    events,
    instances: dir({}, {
      mkdir: () => instance(),
      rmdir: () => {},
    }),
  });

  // Generate trace lines while some event is enabled and tracing is on.
  let timer: NodeJS.Timeout | undefined;
  let cursor = 0;
  function schedule(): void {
    const any = st.tracingOn === 1 && st.enabled.some((x) => x === 1);
    if (any && !timer) {
      timer = setInterval(tick, o.tickMs ?? 100);
      timer.unref();
    } else if (!any && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }
  /** The hit count of an event changed: if the kernel holds its `hist`, drop its cached size. */
  function histChanged(s: number, event: string): void {
    const sub = events.live.get(subsysName(s)) as VDir | undefined;
    (sub?.live.get(event) as VDir | undefined)?.changedChild('hist');
  }
  function tick(): void {
    let emitted = 0;
    for (let n = 0; n < EVENTS && emitted < 4; n++) {
      const i = (cursor + n) % EVENTS;
      if (st.enabled[i] !== 1) continue;
      st.hits[i]!++;
      const s = Math.floor(i / EVENTS_PER_SUBSYSTEM);
      const name = eventName(s, i % EVENTS_PER_SUBSYSTEM);
      if (hasHist(i)) histChanged(s, name);
      pipe.push(`          node-${process.pid}    [000] d..2.  ${(performance.now() / 1000).toFixed(6)}: ${name}: ip=0x${(0xffffffff81000000 + i * 64).toString(16)} value=${st.hits[i]}\n`);
      emitted++;
      cursor = i + 1;
    }
  }

  const tree = createTree(root, o) as Tree & { state: TraceState; pipe: typeof pipe };
  tree.state = st;
  tree.pipe = pipe;
  return tree;
}

/** `fusekit mount` entry: the default export is the tree. */
export default tracefs;
