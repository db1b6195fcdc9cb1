// The diff model's data: what `meshprof diff` computes before any printing. The terminal table,
// `--json` and `--fail-on-regression` all read a DiffResult (compute rows, then print).
//
// Shapes follow pprof's -diff_base (one row per function, ranked by |change|, graph.go abs64 sort)
// and inferno's differential (`Counts {first, second}` per stack, `normalize`, `strip_hex`).
import type { Profile } from '../model/types.js'

/** Schema version of the JSON `meshprof diff --json` prints (docs/diff.md). Bump on breaking changes. */
export const DIFF_SCHEMA_VERSION = 1

export type DiffBy = 'function' | 'file' | 'module'
/** 'cores': absolute CPU (cores) on both sides; 'shares': fractions of each profile's own total. */
export type DiffBasis = 'cores' | 'shares'
export type RowStatus = 'appeared' | 'gone' | 'grew' | 'shrank' | 'same'

/** One side of the comparison: a file (one node) or a directory of captures (one node per process). */
export interface DiffInput {
  /** What the user typed (file or directory path). */
  label: string
  /** One profile per node (process). A plain file is one node. */
  nodes: DiffNodeInput[]
}

export interface DiffNodeInput {
  /** Node name used to pair nodes across sides: process name, else pid, else file name. */
  name: string
  /** Source file of this node's profile. */
  file: string
  /** Format id the file was read as ('capture', 'cpuprofile', 'folded', ...). */
  format: string
  profile: Profile
}

export interface DiffOptions {
  /** Group rows by function (default), file or module. */
  by?: DiffBy
  /**
   * Match functions by name only, ignoring file and line. `'auto'` (the default) strips them only when
   * one side carries no file/line at all (a folded file vs a .cpuprofile), so mixed formats line up.
   */
  stripLines?: boolean | 'auto'
  /** Replace `0x1a2b...` in frame names by `0x...` before matching (difffolded.pl -s). Default false. */
  stripHex?: boolean
  /** 'auto' (default): cores when both sides allow it, else shares. 'cores' fails when it is impossible. */
  basis?: 'auto' | DiffBasis
  /** Rank rows by |change| of total (default) or of self. */
  sort?: 'total' | 'self'
  /** pprof-style focus / ignore / hide, applied to every node before aggregation. */
  focus?: RegExp
  ignore?: RegExp
  hide?: RegExp
  /** Keep only the threads whose root frame matches (filterProfile). */
  thread?: RegExp
}

/** CPU facts about one node, from its unfiltered profile. */
export interface NodeCpu {
  name: string
  file: string
  format: string
  /** Value column the shares use (the profile's default), e.g. {type:'cpu', unit:'nanoseconds'}. */
  valueType: { type: string; unit: string }
  /** Sum of that column over the whole (unfiltered) profile: the denominator of every share. */
  total: number
  /** Same, without rows whose leaf frame is idle (`(idle)`, cpu_idle, ...). */
  busy: number
  /** busy / total. */
  busyShare: number
  /** Sum of a samples/count column when the profile has one, else null. */
  samples: number | null
  /** Wall-clock window, ns (meta.durationNs), or null. */
  durationNs: number | null
  /** CPU time used in the window, ns, or null. */
  cpuTimeNs: number | null
  /** Where cpuTimeNs came from: the capture's measured process CPU, or a cpu/nanoseconds value column. */
  cpuSource: 'meta' | 'column' | null
  /** cpuTimeNs / durationNs, or null when either is missing. */
  cores: number | null
}

export interface SideSummary {
  label: string
  /** Distinct formats of the files on this side. */
  formats: string[]
  nodes: NodeCpu[]
  /** Value column of the first node (all nodes should agree; a warning says when they do not). */
  valueType: { type: string; unit: string }
  /** Sum of node totals (unfiltered). */
  total: number
  /** Sum of busy weight after filters. */
  busy: number
  /** busy / total. */
  busyShare: number
  /** Summed samples (after filters), or null when some node has no samples column. */
  samples: number | null
  /** Sum of node cores (after filters: busy weight converted at each node's rate), or null. */
  cores: number | null
  durationNs: number | null
}

export interface RowSide {
  /** Weight in the side's value unit. */
  self: number
  total: number
  /** Fractions (0..1) of the side's whole unfiltered total. */
  selfShare: number
  totalShare: number
  /** Absolute CPU in cores (null unless the basis is cores). */
  selfCores: number | null
  totalCores: number | null
}

export interface DiffRow {
  /** Matching key (name, or name + file:line, or file, or module). */
  key: string
  name: string
  file?: string
  line?: number
  module?: string
  kind: string
  /** A connect / handshake / TLS frame (classify.isConnectFrame). */
  connect: boolean
  /**
   * Context, not cause: the frame sits under (nearly) every busy sample on both sides (a thread-name
   * root, `start_thread`, tokio's `worker::run` / `ScopedKey::set`, `processTimers`), so its change is
   * the whole profile's change and explains nothing; also a runtime frame (a task poll, a tracing
   * wrapper) whose change is its callees' and not its own self time. Ranked after the rows that do.
   */
  context: boolean
  before: RowSide
  after: RowSide
  /** after - before. Shares as fractions (0.614 = 61.4 percentage points). */
  delta: { selfShare: number; totalShare: number; selfCores: number | null; totalCores: number | null }
  status: RowStatus
}

export interface FindingRef {
  ruleId: string
  severity: string
  title: string
  /** Nodes the finding was reported on (mesh-wide inputs). */
  nodes: string[]
}

export interface FindingsDiff {
  /** False when no analyzer is available; the lists are then empty. */
  available: boolean
  resolved: FindingRef[]
  new: FindingRef[]
  unchanged: FindingRef[]
}

export interface NodeDiff {
  name: string
  before: { cores: number | null; busyShare: number; samples: number | null } | null
  after: { cores: number | null; busyShare: number; samples: number | null } | null
}

export interface DiffResult {
  schemaVersion: typeof DIFF_SCHEMA_VERSION
  basis: DiffBasis
  /** Why this basis (which side lacks duration / CPU time when it is shares). */
  basisReason: string
  by: DiffBy
  stripLines: boolean
  stripLinesReason?: string
  stripHex: boolean
  sort: 'total' | 'self'
  filters: { focus?: string; ignore?: string; hide?: string; thread?: string }
  before: SideSummary
  after: SideSummary
  /**
   * Whole-profile CPU. cores basis: before/after in cores, change = relative (after/before - 1).
   * shares basis: busy share (non-idle fraction of samples), change = after - before (fraction).
   */
  cpu: { unit: 'cores' | 'busy-share'; before: number; after: number; change: number }
  /** Every row, ranked; renderers apply --limit. */
  rows: DiffRow[]
  appeared: number
  gone: number
  /** Per-node breakdown, present when a side has more than one node. */
  nodes?: NodeDiff[]
  findings: FindingsDiff
  warnings: string[]
}
