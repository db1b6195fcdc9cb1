// Lazily computed aggregates that every rule of one run shares, and the RuleContext built on them.
import { stackDepths, stackFrames } from '../../model/builder.js'
import { stackTotals, stackWeights, totalWeight } from '../../model/ops.js'
import { cpuBasis, cpuCores, cpuShare, type CpuBasis } from '../../model/cpu-basis.js'
import type { Frame, Profile } from '../../model/types.js'
import type { Aggregates, Evidence, Finding, Rule, RuleContext, Skip, StackExample, StackMaskInfo, WindowFacts } from './types.js'

export class ProfileAggregates implements Aggregates {
  readonly value: number
  private cache = new Map<string, StackMaskInfo>()
  private _total?: number
  private _weights?: Float64Array
  private _totals?: Float64Array
  private _depths?: Int32Array
  private _names?: string[]
  private _idle?: number
  private _basis?: CpuBasis

  constructor(readonly profile: Profile, value?: number) {
    this.value = value !== undefined && value >= 0 && value < profile.values.length ? value : profile.defaultValue
  }

  get total(): number {
    return (this._total ??= totalWeight(this.profile, this.value))
  }

  get stackWeights(): Float64Array {
    return (this._weights ??= stackWeights(this.profile, this.value))
  }

  get stackTotals(): Float64Array {
    return (this._totals ??= stackTotals(this.profile, this.value))
  }

  get depths(): Int32Array {
    return (this._depths ??= stackDepths(this.profile))
  }

  get frameNames(): readonly string[] {
    return (this._names ??= this.profile.frames.map((f) => f.name))
  }

  get idleWeight(): number {
    if (this._idle === undefined) this._idle = this.mask('idle-kind', (f) => f.kind === 'idle' || f.name === '(idle)').weight
    return this._idle
  }

  /** The one CPU basis (src/model/cpu-basis.ts): shares of on-CPU samples, cores from measured CPU. */
  get basis(): CpuBasis {
    return (this._basis ??= cpuBasis(this.profile, this.value))
  }

  get window(): WindowFacts {
    const b = this.basis
    return { ...(b.durationNs !== undefined ? { durationNs: b.durationNs } : {}), ...(b.cpuTimeNs !== undefined ? { cpuTimeNs: b.cpuTimeNs } : {}), ...(b.cores !== undefined ? { cores: b.cores } : {}), basis: b.sentence }
  }

  get denominator(): number {
    return this.basis.busy
  }

  get recordsIdle(): boolean {
    return this.basis.weights === 'wall-clock samples' || this.idleWeight > 0
  }

  share(weight: number): number {
    return cpuShare(this.basis, weight)
  }

  cores(weight: number): number | undefined {
    return cpuCores(this.basis, weight)
  }

  mask(key: string, pred: (f: Frame, index: number) => boolean): StackMaskInfo {
    const hit = this.cache.get(key)
    if (hit) return hit
    const p = this.profile
    const fm = new Uint8Array(p.frames.length)
    // a thread's root frame ('[worker 1] tls-connector') names a thread, never work a rule looks for
    for (let i = 0; i < fm.length; i++) fm[i] = p.frames[i]!.kind !== 'thread' && pred(p.frames[i]!, i) ? 1 : 0
    const n = p.stackFrame.length
    const stacks = new Uint8Array(n)
    for (let s = 0; s < n; s++) {
      const par = p.stackParent[s]!
      stacks[s] = (par >= 0 ? stacks[par]! : 0) | fm[p.stackFrame[s]!]!
    }
    const w = this.stackWeights
    let weight = 0
    for (let s = 0; s < n; s++) if (stacks[s]) weight += w[s]!
    const info = { stacks, weight }
    this.cache.set(key, info)
    return info
  }

  names(stack: number): string[] {
    const names = this.frameNames
    return stackFrames(this.profile, stack).map((f) => names[f]!)
  }

  topStacks(stacks: Uint8Array, n: number, trim?: (names: string[]) => string[]): StackExample[] {
    const w = this.stackWeights
    const agg = new Map<string, { frames: string[]; weight: number }>()
    for (let s = 0; s < w.length; s++) {
      if (!stacks[s] || w[s]! <= 0) continue
      const frames = trim ? trim(this.names(s)) : this.names(s)
      const key = frames.join('\u0000')
      const e = agg.get(key)
      if (e) e.weight += w[s]!
      else agg.set(key, { frames, weight: w[s]! })
    }
    return [...agg.values()]
      .sort((a, b) => b.weight - a.weight || (a.frames.join(';') < b.frames.join(';') ? -1 : 1))
      .slice(0, n)
      .map((e) => ({ frames: e.frames, weight: e.weight, share: this.share(e.weight) }))
  }

  buckets(n: number, stacks?: Uint8Array) {
    const p = this.profile
    if (!p.times || p.times.length === 0 || n < 1) return undefined
    const end = this.basis.durationNs ?? 0
    if (!(end > 0)) return undefined
    const total = new Float64Array(n)
    const masked = new Float64Array(n)
    const rows = new Int32Array(n)
    const col = p.values[this.value]!
    const width = end / n
    for (let r = 0; r < p.sampleStack.length; r++) {
      const t = p.times[r]!
      let b = Math.floor(t / width)
      if (b < 0) b = 0
      if (b >= n) b = n - 1
      const v = col[r]!
      total[b]! += v
      rows[b]!++
      const s = p.sampleStack[r]!
      if (stacks && s >= 0 && stacks[s]) masked[b]! += v
    }
    return { total, masked, rows }
  }
}

/** Builds the per-rule context. `skips` collects the rules that could not run. */
export function makeContext(rule: Rule, agg: Aggregates, thresholds: ReadonlyMap<string, number>, skips: Skip[]): RuleContext {
  return {
    profile: agg.profile,
    agg,
    rule,
    t(key: string): number {
      const over = thresholds.get(`${rule.id}.${key}`)
      if (over !== undefined) return over
      const spec = rule.thresholds[key]
      if (!spec) throw new Error(`rule ${rule.id} has no threshold '${key}'`)
      return spec.default
    },
    skip(reason: string) {
      skips.push({ ruleId: rule.id, reason })
    },
    finding(f) {
      const cores = f.cores !== undefined ? f.cores : f.weight !== undefined ? agg.cores(f.weight) : undefined
      const evidence: Evidence = { stacks: f.evidence?.stacks ?? [], numbers: f.evidence?.numbers ?? {}, notes: f.evidence?.notes ?? [] }
      const out: Finding = {
        ruleId: rule.id,
        severity: f.severity,
        title: rule.title,
        share: f.share,
        ...(cores !== undefined && Number.isFinite(cores) ? { cpuCores: round(cores, 3) } : {}),
        message: f.message,
        remedy: f.remedy ?? rule.remedy,
        frames: f.frames,
        evidence,
      }
      return out
    },
  }
}

export function round(x: number, digits = 4): number {
  const m = 10 ** digits
  return Math.round(x * m) / m
}
