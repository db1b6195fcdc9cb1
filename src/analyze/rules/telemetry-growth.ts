// telemetry-growth: tracing / telemetry / export frames whose share of CPU grows from the first third
// of the window to the last: a cost that grows with uptime (a root span that never closes, an
// exporter walking an ever longer queue). Needs per-sample timestamps; across several captures of
// the same process the whole-window shares are compared instead.
import { isTelemetryFrame } from '../classify.js'
import type { Frame } from '../../model/types.js'
import type { Finding, Rule, RuleContext, Severity, ThresholdSpec } from './types.js'
import { ladder, pct, shortName, trimStack } from './util.js'

export const TELEMETRY_THRESHOLDS: Record<string, ThresholdSpec> = {
  minRowsPerThird: { default: 100, min: 1, description: 'samples needed in each third of the window' },
  minTelemetrySamples: { default: 8, min: 1, description: 'telemetry samples needed in the window' },
  minLastShare: { default: 0.01, min: 0, max: 1, description: 'telemetry share (of all samples) in the last third for a finding (severity low)' },
  mediumShare: { default: 0.1, min: 0, max: 1, description: 'last-third telemetry share for severity medium' },
  highShare: { default: 0.25, min: 0, max: 1, description: 'last-third telemetry share for severity high' },
  minGrowth: { default: 1.5, min: 1, description: 'last-third share / first-third share' },
  minIncrease: { default: 0.005, min: 0, max: 1, description: 'last-third share minus first-third share' },
  minZ: { default: 3, min: 0, description: 'significance: z-score of the telemetry samples being later in the window than the samples overall (0 turns the test off)' },
  horizonHours: { default: 1, min: 0, description: 'growth projected linearly this far; reaching highShare by then makes the finding at least medium' },
}

export function isTelemetryName(name: string): boolean {
  return isTelemetryFrame(name)
}

/** Telemetry frames, minus Node's own internals (the ESM loader's `syncExports`, ...). */
export function isTelemetryCode(f: Frame): boolean {
  if (f.kind === 'idle' || f.kind === 'program' || f.kind === 'thread') return false
  if (f.file !== undefined && f.file.startsWith('node:')) return false
  return isTelemetryFrame(f.name)
}

/** Verdict for a first -> last share pair; undefined when it does not grow enough. */
export function growthVerdict(first: number, last: number, t: (k: string) => number): Severity | undefined {
  if (last < t('minLastShare')) return undefined
  if (last - first < t('minIncrease')) return undefined
  if (first > 0 && last / first < t('minGrowth')) return undefined
  const s = ladder(last, t('minLastShare'), t('mediumShare'), t('highShare'))
  return s
}

export const telemetryGrowth: Rule = {
  id: 'telemetry-growth',
  title: 'Telemetry cost grows with uptime',
  severity: 'high',
  source: 'builtin',
  description:
    'Tracing / telemetry / export frames whose share of CPU grows from the first third of the window to the last ' +
    '(a root span that never closes, an exporter walking a growing queue). Needs per-sample timestamps ' +
    '(cpuprofile, perf script, capture); with several captures of one process the captures are compared.',
  remedy: 'do not keep a span open around an infinite loop (#[instrument] on the work inside the loop, not the loop); bound exporter queues',
  thresholds: TELEMETRY_THRESHOLDS,
  check(ctx: RuleContext): Finding[] {
    const { agg, profile: p } = ctx
    const tel = agg.mask('telemetry', (f) => isTelemetryCode(f))
    if (!p.times) {
      if (tel.weight > 0) ctx.skip('no per-sample timestamps in this input: growth within the window cannot be measured (compare two captures with meshprof diff)')
      else ctx.skip('no per-sample timestamps in this input')
      return []
    }
    if (tel.weight <= 0) return []
    const b = agg.buckets(3, tel.stacks)
    if (!b) { ctx.skip('window length unknown'); return []}
    const minRows = ctx.t('minRowsPerThird')
    if (b.rows[0]! < minRows || b.rows[2]! < minRows) {
      ctx.skip(`too few samples per third of the window (${b.rows[0]}, ${b.rows[1]}, ${b.rows[2]}; need ${minRows})`)
      return []
    }
    const D = agg.denominator
    const den = (i: number) => (agg.recordsIdle ? b.total[i]! : Math.max(b.total[i]!, D / 3))
    const shares = [0, 1, 2].map((i) => (den(i) > 0 ? b.masked[i]! / den(i) : 0))
    const [first, mid, last] = shares as [number, number, number]
    let severity = growthVerdict(first, last, (k) => ctx.t(k))
    if (!severity) return []
    // Significance: under "constant share" the telemetry samples are a random subset of all samples,
    // so their mean time equals the mean time of all samples (variance var/k).
    const z = laterZ(p.times, p.sampleStack, tel.stacks, agg.window.durationNs!)
    if (z.k < ctx.t('minTelemetrySamples')) return []
    if (ctx.t('minZ') > 0 && !(z.z >= ctx.t('minZ'))) return []
    const durS = agg.window.durationNs! / 1e9
    const perHour = durS > 0 ? ((last - first) / (durS * 2 / 3)) * 3600 : 0
    const projected = Math.min(1, last + perHour * ctx.t('horizonHours'))
    if (severity === 'low' && projected >= ctx.t('highShare')) severity = 'medium'
    const stacks = agg.topStacks(tel.stacks, 3, (n) => trimStack(n.map(shortName)))
    const frames = new Set<string>()
    for (const s of stacks) {
      const f = [...s.frames].reverse().find((n) => isTelemetryName(n))
      if (f) frames.add(f)
    }
    const ratio = first > 0 ? last / first : Infinity
    const secs = agg.window.durationNs ? (agg.window.durationNs / 1e9).toFixed(1) : '?'
    const notes = [
      `first / middle / last third of the ${secs} s window: ${pct(first)} / ${pct(mid)} / ${pct(last)} of CPU`,
      `a cost that grows with uptime: +${pct(perHour / 60)} of CPU per minute at this rate${projected > last ? `, ${pct(projected)} after ${ctx.t('horizonHours')} h` : ''} (growth significant at z=${z.z.toFixed(1)} over ${z.k} telemetry samples)`,
    ]
    return [ctx.finding({
      severity,
      share: agg.share(tel.weight),
      weight: tel.weight,
      message: `tracing/telemetry CPU grew from ${pct(first)} to ${pct(last)} of CPU within the window (${Number.isFinite(ratio) ? `x${ratio.toFixed(1)}` : 'from nothing'}): ${[...frames].slice(0, 2).join(', ') || 'telemetry frames'}`,
      frames: [...frames],
      evidence: {
        stacks,
        numbers: { firstThirdShare: round(first), middleThirdShare: round(mid), lastThirdShare: round(last), growth: Number.isFinite(ratio) ? round(ratio, 2) : 'inf', z: round(z.z, 2), telemetrySamples: z.k, increasePerHour: round(perHour), projectedShare: round(projected), rowsPerThird: `${b.rows[0]},${b.rows[1]},${b.rows[2]}` },
        notes,
      },
    })]
  },
}

/** z-score of "the masked rows are later in the window than all rows" (uniform-subset null). */
export function laterZ(times: Float64Array, sampleStack: Int32Array, mask: Uint8Array, durationNs: number): { z: number; k: number } {
  let n = 0
  let sum = 0
  let sum2 = 0
  let k = 0
  let ksum = 0
  for (let r = 0; r < sampleStack.length; r++) {
    const u = times[r]! / durationNs
    n++
    sum += u
    sum2 += u * u
    const s = sampleStack[r]!
    if (s >= 0 && mask[s]) { k++; ksum += u }
  }
  if (k === 0 || n < 2) return { z: 0, k }
  const mean = sum / n
  const variance = Math.max(1e-12, sum2 / n - mean * mean)
  return { z: (ksum / k - mean) / Math.sqrt(variance / k), k }
}

function round(x: number, d = 4): number {
  const m = 10 ** d
  return Math.round(x * m) / m
}
