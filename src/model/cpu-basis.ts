// The one CPU basis every figure uses (top, analyze, flamegraph header, diff): a share is a share of
// the process's ON-CPU samples (idle samples excluded), and "cores" is that share times the CPU the
// process used over the window, measured by the capture (/proc, process.cpuUsage()) when there is a
// measurement. So a part never exceeds the whole, whatever the sampler did: V8 keeps sampling a
// thread the OS has descheduled, so a .cpuprofile's weights are wall-clock samples, not CPU.
import type { Frame, Profile } from './types.js'
import { totalWeight } from './ops.js'

/** Samples that are not CPU: V8 `(idle)`, kernel idle loops, a thread parked in epoll / futex. */
const OFF_CPU_NAME_RE = /^(cpu_idle|do_idle|cpuidle_|swapper|poll_idle|default_idle|intel_idle|acpi_idle|epoll_wait|__GI_epoll_wait|futex_wait)/

/** A leaf frame whose samples are time off the CPU. */
export function isOffCpuFrame(f: Frame): boolean {
  return f.kind === 'idle' || f.name === '(idle)' || OFF_CPU_NAME_RE.test(f.name)
}

/** What the weights of a profile measure. */
export type WeightKind = 'wall-clock samples' | 'on-CPU samples' | 'sample values'

export interface CpuBasis {
  /** Value column the figures are of. */
  value: number
  /** Sum of the column over every row, idle included. */
  total: number
  /** Weight of rows whose leaf frame is off-CPU (isOffCpuFrame). */
  idle: number
  /** total - idle: the denominator of every share. */
  busy: number
  /** Window length, ns (meta.durationNs, or the span of the sample times). */
  durationNs?: number
  /** CPU time the process used in the window, measured by the capture. */
  cpuTimeNs?: number
  /** CPU cores the process used over the window (the whole that every part is a share of). */
  cores?: number
  /** Where `cores` comes from. */
  coresFrom?: 'measured' | 'samples'
  weights: WeightKind
  /** One sentence saying all of the above, for headers, notes and JSON. */
  sentence: string
}

/** The profiler records time off the CPU as samples (V8 `(idle)`, wall-clock pprof). */
function recordsWallTime(p: Profile, value: number): boolean {
  if (p.meta.sourceFormat === 'cpuprofile' || p.meta.backend === 'inspector') return true
  return /wall/i.test(p.valueTypes[value]?.type ?? '')
}

/** Weight of rows whose leaf frame is off-CPU. */
export function offCpuWeight(p: Profile, value = p.defaultValue): number {
  const col = p.values[value]!
  const off = new Uint8Array(p.frames.length)
  let any = false
  for (let i = 0; i < off.length; i++) if (isOffCpuFrame(p.frames[i]!)) { off[i] = 1; any = true }
  if (!any) return 0
  let w = 0
  for (let r = 0; r < p.sampleStack.length; r++) {
    const s = p.sampleStack[r]!
    if (s >= 0 && off[p.stackFrame[s]!]) w += col[r]!
  }
  return w
}

/** Window length: meta.durationNs, else the span of the per-sample times. */
export function windowNs(p: Profile): number | undefined {
  if (p.meta.durationNs && p.meta.durationNs > 0) return p.meta.durationNs
  if (!p.times || p.times.length < 2) return undefined
  let lo = Infinity
  let hi = -Infinity
  for (const t of p.times) { if (t < lo) lo = t; if (t > hi) hi = t }
  return hi > lo ? hi - lo + (p.meta.periodNs ?? 0) : undefined
}

/** Nanoseconds per unit of the column, when the column is time (or counts with a known period). */
function nsPerUnit(p: Profile, value: number): number | undefined {
  const u = p.valueTypes[value]!.unit
  if (u === 'nanoseconds') return 1
  if (u === 'microseconds') return 1e3
  if (u === 'milliseconds') return 1e6
  if (u === 'seconds') return 1e9
  if ((u === 'count' || u === 'samples') && p.meta.periodNs && p.meta.periodNs > 0) return p.meta.periodNs
  return undefined
}

/** A cores figure the same way everywhere (top, analyze, flamegraph, diff): 2 decimals, 3 below 0.1. */
export function formatCores(x: number): string {
  if (!Number.isFinite(x)) return '-'
  // Decided on the rounded figure: 0.0996 prints 0.10, not 0.100 (3 decimals are for what shows under 0.1).
  const three = x.toFixed(3)
  return Number(three) >= 0.1 ? x.toFixed(2) : three
}

function fmtCores(c: number): string {
  return `${formatCores(c)} cores`
}

export function cpuBasis(p: Profile, value = p.defaultValue): CpuBasis {
  const v = value >= 0 && value < p.values.length ? value : p.defaultValue
  const total = totalWeight(p, v)
  const idle = offCpuWeight(p, v)
  const busy = Math.max(0, total - idle)
  const durationNs = windowNs(p)
  const cpuTimeNs = p.meta.cpuTimeNs !== undefined && Number.isFinite(p.meta.cpuTimeNs) && p.meta.cpuTimeNs >= 0 ? p.meta.cpuTimeNs : undefined
  const wall = recordsWallTime(p, v)
  const weights: WeightKind = wall ? 'wall-clock samples' : p.meta.sourceFormat === 'perf-script' || /cpu|cycles|clock/i.test(p.valueTypes[v]!.type) ? 'on-CPU samples' : 'sample values'
  let cores: number | undefined
  let coresFrom: CpuBasis['coresFrom']
  if (cpuTimeNs !== undefined && durationNs !== undefined) {
    cores = cpuTimeNs / durationNs
    coresFrom = 'measured'
  } else if (durationNs !== undefined && total > 0) {
    const k = nsPerUnit(p, v)
    // wall-clock samples of one thread: the busy part of the window; on-CPU samples: busy time / window
    if (wall) { cores = busy / total; coresFrom = 'samples' }
    else if (k !== undefined) { cores = (busy * k) / durationNs; coresFrom = 'samples' }
  }
  const secs = durationNs !== undefined ? ` over ${(durationNs / 1e9).toFixed(1)} s` : ''
  let sentence = `shares are of on-CPU samples (${idle > 0 ? 'idle samples excluded' : 'no idle samples'}); the weights are ${weights}`
  if (coresFrom === 'measured') sentence += `; cores = share x the process CPU the capture measured (${fmtCores(cores!)}${secs})`
  else if (coresFrom === 'samples') sentence += `; cores = share x ${fmtCores(cores!)}, estimated from the samples${secs} (no measured process CPU)`
  else sentence += '; no window length or measured CPU: no cores figure'
  return {
    value: v, total, idle, busy,
    ...(durationNs !== undefined ? { durationNs } : {}),
    ...(cpuTimeNs !== undefined ? { cpuTimeNs } : {}),
    ...(cores !== undefined && Number.isFinite(cores) ? { cores, coresFrom } : {}),
    weights, sentence,
  }
}

/** Share of the on-CPU time, 0..1. */
export function cpuShare(b: CpuBasis, weight: number): number {
  return b.busy > 0 ? Math.min(1, Math.max(0, weight / b.busy)) : 0
}

/** CPU cores a weight stands for: its share times the process's cores; undefined when unknown. */
export function cpuCores(b: CpuBasis, weight: number): number | undefined {
  return b.cores === undefined ? undefined : cpuShare(b, weight) * b.cores
}
