// Types shared by the analyze engine, the built-in rules and user rules.
// A rule is data (id, title, severity, description, remedy, documented thresholds) plus a small
// check(ctx) function that returns findings. The JSON form of a Finding is a stable schema
// (docs/analyze.md, `schemaVersion`).
import type { Frame, Profile } from '../../model/types.js'

export type Severity = 'high' | 'medium' | 'low' | 'info'

/** Most severe first. */
export const SEVERITIES: readonly Severity[] = ['high', 'medium', 'low', 'info']

/** high 3, medium 2, low 1, info 0. */
export function severityRank(s: Severity): number {
  return 3 - SEVERITIES.indexOf(s)
}

export function isSeverity(x: unknown): x is Severity {
  return typeof x === 'string' && (SEVERITIES as readonly string[]).includes(x)
}

/** The lower of two severities. */
export function minSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) <= severityRank(b) ? a : b
}

/** One example stack, root first, with its weight and share of the whole profile. */
export interface StackExample {
  frames: string[]
  weight: number
  share: number
}

export interface Evidence {
  /** Top example stacks, root -> leaf, heaviest first. */
  stacks: StackExample[]
  /** Named numbers (counts, shares, rates) behind the message. */
  numbers: Record<string, number | string>
  /** Human sentences: the second and later lines of the text output. */
  notes: string[]
}

export interface Finding {
  ruleId: string
  severity: Severity
  title: string
  /** Share of the process's on-CPU time (idle samples excluded; src/model/cpu-basis.ts). 0..1. */
  share: number
  /** share x the CPU cores the process used over the window (measured by a capture when there is one). */
  cpuCores?: number
  /** One line. */
  message: string
  remedy: string
  /** Frame names to highlight in a flamegraph. */
  frames: string[]
  evidence: Evidence
}

export interface ThresholdSpec {
  /** Documented default. */
  default: number
  description: string
  min?: number
  max?: number
}

/** A rule could not run on this input (missing timestamps, no network evidence, ...). */
export interface Skip {
  ruleId: string
  reason: string
}

export interface Rule {
  /** Stable id: `connect-storm`, `busy-wait`, ... */
  readonly id: string
  readonly title: string
  /** The severity the rule reports at most (user rules: always this one). */
  readonly severity: Severity
  readonly description: string
  readonly remedy: string
  readonly thresholds: Readonly<Record<string, ThresholdSpec>>
  /** 'builtin' or 'user' (a --rules file). */
  readonly source: 'builtin' | 'user'
  check(ctx: RuleContext): Finding[]
}

export interface StackMaskInfo {
  /** Per stack id: 1 when the stack (or an ancestor) holds a matching frame. */
  stacks: Uint8Array
  /** Summed weight of the samples on those stacks. */
  weight: number
}

/** Window and CPU facts of one profile; everything optional because folded files know none of it. */
export interface WindowFacts {
  /** Window length, ns (meta.durationNs or the span of the sample times). */
  durationNs?: number
  /** CPU time the process used in the window (capture). */
  cpuTimeNs?: number
  /** CPU cores the process used over the window (measured, or estimated from samples). */
  cores?: number
  /** The CPU basis in one sentence (shares of what, cores from what). */
  basis: string
}

/** Lazily computed aggregates shared by all rules of one run on one profile. */
export interface Aggregates {
  readonly profile: Profile
  /** Value column used. */
  readonly value: number
  /** Sum of the value column over all rows (idle included). */
  readonly total: number
  /** Denominator of every share: the on-CPU weight (total minus idle samples). */
  readonly denominator: number
  /** The profiler records idle time as samples (V8 `(idle)`, kernel idle frames). */
  readonly recordsIdle: boolean
  readonly idleWeight: number
  readonly window: WindowFacts
  /** Summed weight per leaf stack. */
  readonly stackWeights: Float64Array
  /** Inclusive weight per stack node. */
  readonly stackTotals: Float64Array
  /** Parent-first depth per stack (root = 1). */
  readonly depths: Int32Array
  readonly frameNames: readonly string[]
  /** Stacks holding a frame for which pred is true; cached by key. */
  mask(key: string, pred: (f: Frame, index: number) => boolean): StackMaskInfo
  /** Share of the on-CPU time (weight / denominator). */
  share(weight: number): number
  /** CPU cores a weight stands for, when the window is known. */
  cores(weight: number): number | undefined
  /** Heaviest leaf stacks among the masked ones, grouped by the frame names root -> leaf. */
  topStacks(stacks: Uint8Array, n: number, trim?: (names: string[]) => string[]): StackExample[]
  /** Time buckets of the window (needs per-row times): per bucket, total weight and masked weight. */
  buckets(n: number, stacks?: Uint8Array): { total: Float64Array; masked: Float64Array; rows: Int32Array } | undefined
  /** Frame names of a stack, root first. */
  names(stack: number): string[]
}

export interface RuleContext {
  readonly profile: Profile
  readonly agg: Aggregates
  readonly rule: Rule
  /** Threshold value for this rule (default or overridden). */
  t(key: string): number
  /** Say why the rule could not run on this input. */
  skip(reason: string): void
  /** Build a finding with ruleId, title, cpuCores (from `weight`, or `cores` as given) filled in. */
  finding(f: Omit<Finding, 'ruleId' | 'title' | 'cpuCores' | 'remedy' | 'evidence'> & { remedy?: string; evidence?: Partial<Evidence>; weight?: number; cores?: number }): Finding
}
