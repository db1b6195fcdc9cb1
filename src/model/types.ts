// The one in-memory profile model. Every importer builds one of these, every
// exporter, report, rule and renderer reads one. It depends on nothing else in src/.
import type { LabelColumns } from './labels.js'
import type { ThreadCpu } from './threads.js'
export type { LabelColumns, LabelSet, LabelValue } from './labels.js'

/** What kind of code a frame is. Used for colouring and for rules (idle/gc are not "work"). */
/** 'thread': the root frame naming the thread of its stacks (a capture with worker threads). */
export type FrameKind = 'js' | 'native' | 'kernel' | 'gc' | 'idle' | 'program' | 'thread' | 'unknown'

export interface Frame {
  /** Display name, demangled and tidied at import. */
  readonly name: string
  readonly file?: string
  /** 1-based line, normalised at import. */
  readonly line?: number
  /** 1-based column. */
  readonly col?: number
  /** Shared library / DSO for native frames, script URL or package for JS frames. */
  readonly module?: string
  readonly kind: FrameKind
}

/** One column of sample values, as in pprof's ValueType. */
export interface ValueType {
  /** 'samples', 'cpu', 'wall', 'span', 'events', or whatever a pprof file names. */
  readonly type: string
  /** 'count', 'nanoseconds', 'bytes', ... */
  readonly unit: string
}

/** A connection attempt seen inside (Node) or around (native, /proc) the target during capture. */
export interface ConnectEvent {
  /** ms since the start of the capture window. */
  readonly t: number
  /** 'host:port' of the remote peer. */
  readonly remote: string
  readonly tls: boolean
  /** JavaScript stack that initiated the connect, root first (outermost caller first). */
  readonly initiator?: readonly string[]
  /** True when the target already held an established socket to `remote` when this connect began. */
  readonly alreadyConnected?: boolean
}

/** Established sockets at one instant. */
export interface SocketSnapshot {
  /** ms since the start of the capture window. */
  readonly t: number
  /** One entry per established socket (duplicates = several sockets to the same peer). */
  readonly remotes: readonly string[]
}

/** Network facts recorded in the same window as the CPU profile (capture issue). */
export interface NetworkEvidence {
  /** 'node-probe' (inside a Node target: meshprof capture), 'node-diagnostics-channel', or 'proc-net' (sampled from /proc). */
  readonly source: string
  readonly windowMs: number
  readonly connects: readonly ConnectEvent[]
  readonly snapshots: readonly SocketSnapshot[]
  /** Connect attempts seen but not kept (buffer cap), so counts stay honest. */
  readonly droppedConnects?: number
}

/** One quantity over the window: [ms since the window start, value] pairs, oldest first. */
export interface GrowthSeries {
  /** 'handles.Timeout', 'heap.used', 'rss', 'fds', 'threads', ... */
  readonly name: string
  readonly unit: 'count' | 'bytes'
  readonly points: readonly (readonly [number, number])[]
}

/** Live bytes of one allocation site (its whole stack) at a few points of the window. */
export interface HeapSite {
  /** Root first, `function file:line`. */
  readonly frames: readonly string[]
  /** [ms since the window start, live sampled bytes allocated since the window start]. */
  readonly points: readonly (readonly [number, number])[]
}

/** Memory and handles over the capture window (`meshprof capture --heap`). */
export interface GrowthEvidence {
  readonly windowMs: number
  readonly series: readonly GrowthSeries[]
  /** Heaviest allocation sites of the sampling heap profiler (it sees allocations since the window start). */
  readonly sites?: readonly HeapSite[]
  /** v8.getHeapStatistics() at the start and the end of the window. */
  readonly heapStats?: { readonly start?: Readonly<Record<string, number>>; readonly end?: Readonly<Record<string, number>> }
}

export interface ProfileMeta {
  /** Human name: process title, file name, thread name. */
  name?: string
  /** Format the profile was read from ('perf-script', 'folded', 'pprof', 'cpuprofile', 'speedscope', 'capture'). */
  sourceFormat?: string
  pid?: number
  command?: string
  /** Wall-clock length of the profiled window, ns. */
  durationNs?: number
  /** Sampling period, ns (1e9 / Hz). */
  periodNs?: number
  /** Start of the window, ns since the Unix epoch when known. */
  startTimeNs?: number
  /** CPU time the process used in the window, ns (capture). */
  cpuTimeNs?: number
  /** Capture back-end: 'inspector' | 'agent' | 'perf'. */
  backend?: string
  /**
   * Capture: the main thread never turned its event loop during the window (synchronous JavaScript
   * all along, a busy-wait or CPU hog); the CPU profile came through the inspector and there is no
   * network evidence.
   */
  eventLoopBlocked?: boolean
  /** Capture: CPU per thread of the process over the window (/proc), and whether the profile samples it. */
  threads?: ThreadCpu[]
  /** Anything else worth keeping (pprof comments, perf event name, ...). */
  extra?: Record<string, unknown>
}

/**
 * A profile: interned frames, a trie of stacks, and sample rows.
 *
 * Invariants (checked by validateProfile, in the tests on every importer's output):
 * - stack i is frame stackFrame[i] called from stack stackParent[i] (-1 = root), and stackParent[i] < i;
 * - every values[v] column has sampleStack.length entries, finite and >= 0;
 * - times, when present, has one entry per sample row, ns since the window start.
 * - A Profile is not mutated after the builder returns it: operations return new profiles.
 */
export interface Profile {
  readonly frames: readonly Frame[]
  readonly stackFrame: Int32Array
  readonly stackParent: Int32Array
  /** Leaf stack of each sample row. Rows may be aggregated (one per stack) or per sample. */
  readonly sampleStack: Int32Array
  /** values[v][row]: one column per value type. */
  readonly values: readonly Float64Array[]
  readonly valueTypes: readonly ValueType[]
  /** Which value column reports use by default (pprof's default sample index). */
  readonly defaultValue: number
  /** Per-row timestamp, ns since window start (cpuprofile, perf script, speedscope). */
  readonly times?: Float64Array
  /** Per-row labels (pprof labels, thread names), as columns: `labels.at(row)`. */
  readonly labels?: LabelColumns
  readonly meta: ProfileMeta
  readonly network?: NetworkEvidence
  /** Memory and handle growth evidence (capture --heap). */
  readonly growth?: GrowthEvidence
}
