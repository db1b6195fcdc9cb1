// `meshprof analyze`: a small rule engine. Built-in rules recognise the mesh anti-patterns (connect
// storm, busy-wait, ghost connections, telemetry growing with uptime, GC pressure); user rules from
// a JSON/YAML file run in the same engine. Findings are plain data with a stable JSON schema
// (docs/analyze.md); shares are of the process's on-CPU time and cores come from the one CPU basis
// (src/model/cpu-basis.ts), so analyze, top, flamegraph and diff print the same figures.
import type { Profile } from '../model/types.js'
import { unprofiledCpu } from '../model/threads.js'
import { formatCores } from '../model/cpu-basis.js'
import { UsageError } from '../util/errors.js'
import { ProfileAggregates, makeContext } from './rules/context.js'
import { RULES, BUILTIN_RULE_IDS } from './rules/index.js'
import type { Finding, Rule, Severity, Skip, WindowFacts } from './rules/types.js'
import { SEVERITIES, severityRank } from './rules/types.js'
import { ghostFacts, ghostVerdict, GHOST_THRESHOLDS } from './rules/ghost-connections.js'
import { TELEMETRY_THRESHOLDS, growthVerdict, isTelemetryCode, isTelemetryName } from './rules/telemetry-growth.js'
import { pct } from './rules/util.js'
import { growthFindings, GROWTH_THRESHOLDS, growth as growthRule } from './rules/growth.js'

export { RULES, BUILTIN_RULE_IDS }
export type { Finding, Rule, Severity, Skip, WindowFacts }
export type { Evidence, StackExample, ThresholdSpec, RuleContext, Aggregates } from './rules/types.js'
export { SEVERITIES, severityRank, isSeverity } from './rules/types.js'
export { loadUserRules, parseUserRules } from './rules/user-rules.js'

/** Version of the JSON output (`meshprof analyze --json`); bumped on incompatible changes only. */
export const SCHEMA_VERSION = 1

export interface AnalyzeOptions {
  /** Threshold overrides, `'<rule-id>.<key>' -> value` (validated by resolveThresholds). */
  thresholds?: Readonly<Record<string, number>> | ReadonlyMap<string, number>
  /** Extra rules (user rules) run after the built-ins. */
  rules?: readonly Rule[]
  /** false: run only `rules`. */
  builtins?: boolean
  /** Value column (default: the profile's default). */
  value?: number
}

export interface ProfileAnalysis {
  findings: Finding[]
  skipped: Skip[]
  window: WindowFacts
  total: number
  denominator: number
}

function ruleSet(opts: AnalyzeOptions): Rule[] {
  return [...(opts.builtins === false ? [] : RULES), ...(opts.rules ?? [])]
}

function thresholdMap(opts: AnalyzeOptions): Map<string, number> {
  const t = opts.thresholds
  if (!t) return new Map()
  return t instanceof Map ? new Map(t) : new Map(Object.entries(t as Record<string, number>))
}

/** Findings most severe first, then by share (largest first), then rule id. */
export function sortFindings<T extends Finding>(fs: T[]): T[] {
  return fs.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || b.share - a.share || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0))
}

/** Run every rule on one profile; the findings, sorted. */
export function analyzeProfile(profile: Profile, opts: AnalyzeOptions = {}): Finding[] {
  return analyzeProfileDetailed(profile, opts).findings
}

/** As analyzeProfile, plus what could not be checked and the window facts. */
export function analyzeProfileDetailed(profile: Profile, opts: AnalyzeOptions = {}): ProfileAnalysis {
  const rules = ruleSet(opts)
  const thresholds = resolveThresholds(thresholdMap(opts), rules)
  const agg = new ProfileAggregates(profile, opts.value)
  const skipped: Skip[] = []
  const findings: Finding[] = []
  for (const rule of rules) {
    const ctx = makeContext(rule, agg, thresholds, skipped)
    try {
      findings.push(...rule.check(ctx))
    } catch (e) {
      if (e instanceof UsageError) throw e
      skipped.push({ ruleId: rule.id, reason: `rule failed on this input: ${(e as Error)?.message ?? String(e)}` })
    }
  }
  return { findings: sortFindings(findings), skipped, window: agg.window, total: agg.total, denominator: agg.denominator }
}

/** Validate threshold overrides against the rules' declared thresholds. Throws UsageError. */
export function resolveThresholds(over: ReadonlyMap<string, number>, rules: readonly Rule[] = RULES): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of over) {
    const dot = k.lastIndexOf('.')
    const id = dot > 0 ? k.slice(0, dot) : ''
    const key = dot > 0 ? k.slice(dot + 1) : k
    const rule = rules.find((r) => r.id === id)
    if (!rule) throw new UsageError(`--threshold ${k}: no rule '${id || k}' (rules: ${rules.map((r) => r.id).join(', ')})`)
    const spec = rule.thresholds[key]
    if (!spec) throw new UsageError(`--threshold ${k}: rule ${id} has no threshold '${key}' (it has: ${Object.keys(rule.thresholds).join(', ') || 'none'})`)
    if (!Number.isFinite(v)) throw new UsageError(`--threshold ${k}: not a number`)
    if (spec.min !== undefined && v < spec.min) throw new UsageError(`--threshold ${k}=${v}: must be >= ${spec.min}`)
    if (spec.max !== undefined && v > spec.max) throw new UsageError(`--threshold ${k}=${v}: must be <= ${spec.max}`)
    out.set(`${id}.${key}`, v)
  }
  return out
}

/** Parse `--threshold rule.key=value` arguments ("0.2", "20%"). Throws UsageError. */
export function parseThresholdArgs(args: readonly string[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const a of args) {
    for (const part of a.split(',')) {
      if (part.trim() === '') continue
      const m = /^\s*([A-Za-z0-9._-]+)\.([A-Za-z][A-Za-z0-9_]*)\s*=\s*([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)\s*(%?)\s*$/.exec(part)
      if (!m) throw new UsageError(`--threshold ${part}: expected <rule>.<key>=<number>, e.g. connect-storm.minShare=0.2`)
      const v = Number(m[3]) / (m[4] ? 100 : 1)
      out.set(`${m[1]}.${m[2]}`, v)
    }
  }
  return out
}

export function atLeast(s: Severity, min: Severity): boolean {
  return severityRank(s) >= severityRank(min)
}

// ---- several profiles: per-profile findings plus cross-capture checks -----------------------

export interface AnalyzedInput {
  /** The path given on the command line (or the capture file). */
  input: string
  profile: Profile
}

export interface ProfileSummary {
  index: number
  input: string
  name?: string
  pid?: number
  command?: string
  format?: string
  backend?: string
  durationNs?: number
  cpuTimeNs?: number
  cores?: number
  samples: number
  totalWeight: number
  valueType: string
  unit: string
  basis: string
  networkEvidence: boolean
  /** Capture: CPU that threads the profile does not sample burnt (more than ~10% of the process's), in words. */
  unprofiledCpu?: string
  skipped: Skip[]
}

export interface ReportFinding extends Finding {
  /** Index into `profiles`; null for a finding across several captures. */
  profile: number | null
  /** The captures a cross-capture finding compares. */
  profiles?: number[]
}

export interface AnalysisReport {
  meshprof: 'analyze'
  schemaVersion: number
  profiles: ProfileSummary[]
  findings: ReportFinding[]
  summary: Record<Severity, number> & { total: number }
  rules: { id: string; title: string; source: 'builtin' | 'user'; severity: Severity; description: string; thresholds: Record<string, number> }[]
}

export function analyzeProfiles(inputs: readonly AnalyzedInput[], opts: AnalyzeOptions = {}): AnalysisReport {
  const rules = ruleSet(opts)
  const thresholds = resolveThresholds(thresholdMap(opts), rules)
  const profiles: ProfileSummary[] = []
  const findings: ReportFinding[] = []
  inputs.forEach(({ input, profile }, index) => {
    const a = analyzeProfileDetailed(profile, { ...opts, thresholds })
    const vt = profile.valueTypes[opts.value ?? profile.defaultValue] ?? profile.valueTypes[profile.defaultValue]!
    const m = profile.meta
    const unprofiled = unprofiledCpu(m.threads, m.durationNs)
    profiles.push({
      index,
      input,
      ...(m.name !== undefined ? { name: m.name } : {}),
      ...(m.pid !== undefined ? { pid: m.pid } : {}),
      ...(m.command !== undefined ? { command: m.command } : {}),
      ...(m.sourceFormat !== undefined ? { format: m.sourceFormat } : {}),
      ...(m.backend !== undefined ? { backend: m.backend } : {}),
      ...(a.window.durationNs !== undefined ? { durationNs: a.window.durationNs } : {}),
      ...(a.window.cpuTimeNs !== undefined ? { cpuTimeNs: a.window.cpuTimeNs } : {}),
      ...(a.window.cores !== undefined ? { cores: Math.round(a.window.cores * 1000) / 1000 } : {}),
      samples: profile.sampleStack.length,
      totalWeight: a.total,
      valueType: vt.type,
      unit: vt.unit,
      basis: a.window.basis,
      networkEvidence: profile.network !== undefined,
      ...(unprofiled ? { unprofiledCpu: unprofiled.sentence } : {}),
      skipped: a.skipped,
    })
    for (const f of a.findings) findings.push({ ...f, profile: index })
  })
  meshWideConnectCost(findings, inputs)
  findings.push(...crossCapture(inputs, thresholds, rules))
  sortFindings(findings)
  const summary = { high: 0, medium: 0, low: 0, info: 0, total: findings.length }
  for (const f of findings) summary[f.severity]++
  return {
    meshprof: 'analyze',
    schemaVersion: SCHEMA_VERSION,
    profiles,
    findings,
    summary,
    rules: rules.map((r) => ({
      id: r.id,
      title: r.title,
      source: r.source,
      severity: r.severity,
      description: r.description,
      thresholds: Object.fromEntries(Object.entries(r.thresholds).map(([k, s]) => [k, thresholds.get(`${r.id}.${k}`) ?? s.default])),
    })),
  }
}

/**
 * Several nodes analysed together (a capture directory, a mesh): each connect-storm finding also
 * states what the storm costs the whole mesh, since every node is often a small slice of the host
 * (the incident: 35% of a host over 18 nodes).
 */
function meshWideConnectCost(findings: ReportFinding[], inputs: readonly AnalyzedInput[]): void {
  const storms = findings.filter((f) => f.ruleId === 'connect-storm' && f.severity !== 'info' && f.cpuCores !== undefined && f.profile !== null)
  const nodes = new Set(storms.map((f) => { const m = inputs[f.profile!]!.profile.meta; return m.pid !== undefined ? `pid ${m.pid}` : `#${f.profile}` }))
  if (nodes.size < 2) return
  const sum = storms.reduce((t, f) => t + f.cpuCores!, 0)
  const each = sum / storms.length
  const pointless = storms.every((f) => f.evidence.numbers.tickRate === 'yes')
  const note = `mesh-wide: ${storms.length} nodes x ${formatCores(each)} cores = ${formatCores(sum)} cores in ${pointless ? 'pointless handshakes (connects to already-connected peers at tick rate)' : 'connect/handshake work'}`
  for (const f of storms) {
    f.evidence = { ...f.evidence, notes: [...f.evidence.notes, note], numbers: { ...f.evidence.numbers, meshNodes: storms.length, meshCores: Math.round(sum * 1000) / 1000 } }
  }
}

/** Several captures of the same process (same pid), oldest first: growth across them. */
function crossCapture(inputs: readonly AnalyzedInput[], thresholds: Map<string, number>, rules: readonly Rule[]): ReportFinding[] {
  const groups = new Map<string, number[]>()
  inputs.forEach(({ profile }, i) => {
    if (profile.meta.pid === undefined) return
    const key = `${profile.meta.pid}\u0000${profile.meta.command ?? ''}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = []))
    g.push(i)
  })
  const out: ReportFinding[] = []
  const tv = (rule: string, spec: Record<string, { default: number }>) => (k: string) => thresholds.get(`${rule}.${k}`) ?? spec[k]!.default
  const hasRule = (id: string) => rules.some((r) => r.id === id)
  for (const idx of groups.values()) {
    const timed = idx.filter((i) => inputs[i]!.profile.meta.startTimeNs !== undefined)
    if (timed.length < 2) continue
    timed.sort((a, b) => inputs[a]!.profile.meta.startTimeNs! - inputs[b]!.profile.meta.startTimeNs!)
    const t0 = inputs[timed[0]!]!.profile.meta.startTimeNs!
    const distinct = new Set(timed.map((i) => inputs[i]!.profile.meta.startTimeNs))
    if (distinct.size < 2) continue
    const name = inputs[timed[0]!]!.profile.meta.name ?? `pid ${inputs[timed[0]!]!.profile.meta.pid}`
    // ghost connections across captures
    if (hasRule('ghost-connections')) {
      const withNet = timed.filter((i) => inputs[i]!.profile.network && inputs[i]!.profile.network!.snapshots.length > 0)
      if (withNet.length >= 2) {
        const snaps = withNet.flatMap((i) => {
          const p = inputs[i]!.profile
          const off = (p.meta.startTimeNs! - t0) / 1e6
          return p.network!.snapshots.map((s) => ({ t: s.t + off, remotes: s.remotes }))
        })
        const connects = withNet.flatMap((i) => inputs[i]!.profile.network!.connects)
        const t = tv('ghost-connections', GHOST_THRESHOLDS)
        const g = ghostFacts(snaps, connects, t('minPeerSockets'))
        const v = g && ghostVerdict(g, t('minGrowth'), t('highGrowth'), `across ${withNet.length} captures of ${name}`)
        if (v) {
          out.push({
            ruleId: 'ghost-connections', severity: v.severity, title: 'Ghost connections', share: 0, message: v.message,
            remedy: RULES.find((r) => r.id === 'ghost-connections')!.remedy, frames: v.frames,
            evidence: { stacks: [], numbers: { ...v.numbers, captures: withNet.length }, notes: v.notes },
            profile: null, profiles: withNet,
          })
        }
      }
    }
    // memory and handles growing across the captures
    if (hasRule('growth')) {
      const withGrowth = timed.filter((i) => inputs[i]!.profile.growth)
      if (withGrowth.length >= 2) {
        const windows = withGrowth.map((i) => ({ growth: inputs[i]!.profile.growth!, offsetMs: (inputs[i]!.profile.meta.startTimeNs! - t0) / 1e6 }))
        const gapS = (inputs[withGrowth[withGrowth.length - 1]!]!.profile.meta.startTimeNs! - inputs[withGrowth[0]!]!.profile.meta.startTimeNs!) / 1e9
        for (const f of growthFindings(windows, tv('growth', GROWTH_THRESHOLDS), `across ${withGrowth.length} captures of ${name} (${gapS.toFixed(0)} s apart)`)) {
          out.push({ ruleId: 'growth', title: growthRule.title, share: 0, ...f, evidence: { ...f.evidence, numbers: { ...f.evidence.numbers, captures: withGrowth.length } }, profile: null, profiles: withGrowth })
        }
      }
    }
    // telemetry share growing from the first capture to the last
    if (hasRule('telemetry-growth')) {
      const first = inputs[timed[0]!]!.profile
      const last = inputs[timed[timed.length - 1]!]!.profile
      const measure = (p: Profile) => {
        const agg = new ProfileAggregates(p)
        const m = agg.mask('telemetry', (f) => isTelemetryCode(f))
        let k = 0
        for (let r = 0; r < p.sampleStack.length; r++) { const st = p.sampleStack[r]!; if (st >= 0 && m.stacks[st]) k++ }
        const stacks = agg.topStacks(m.stacks, 3)
        // growth with uptime is growth of its cost: the telemetry's cores (share x the process's
        // cores), not its share of a CPU total that itself grows with it
        const cores = agg.cores(m.weight)
        return { share: cores ?? agg.share(m.weight), ofCore: cores !== undefined, rows: p.sampleStack.length, k, stacks }
      }
      const A = measure(first)
      const B = measure(last)
      const t = tv('telemetry-growth', TELEMETRY_THRESHOLDS)
      const sev = growthVerdict(A.share, B.share, t)
      // two-proportion z-test on the sample counts: is the later share really larger?
      const pooled = (A.k + B.k) / Math.max(1, A.rows + B.rows)
      const se = Math.sqrt(Math.max(1e-12, pooled * (1 - pooled) * (1 / Math.max(1, A.rows) + 1 / Math.max(1, B.rows))))
      const z = (B.k / Math.max(1, B.rows) - A.k / Math.max(1, A.rows)) / se
      const significant = t('minZ') <= 0 || z >= t('minZ')
      if (sev && significant && B.k >= t('minTelemetrySamples')) {
        const gapS = (last.meta.startTimeNs! - first.meta.startTimeNs!) / 1e9
        const perHour = gapS > 0 ? ((B.share - A.share) / gapS) * 3600 : 0
        const projected = Math.min(1, B.share + perHour * t('horizonHours'))
        const severity = sev === 'low' && projected >= t('highShare') ? 'medium' : sev
        const frames = [...new Set(B.stacks.map((st) => [...st.frames].reverse().find((n) => isTelemetryName(n))).filter((x): x is string => x !== undefined))]
        out.push({
          ruleId: 'telemetry-growth', severity, title: 'Telemetry cost grows with uptime', share: B.share,
          message: `tracing/telemetry CPU grew from ${pct(A.share)} to ${pct(B.share)} of ${A.ofCore && B.ofCore ? 'a core' : 'CPU'} between captures of ${name} ${gapS.toFixed(0)} s apart` + (frames.length ? `: ${frames.slice(0, 2).join(', ')}` : ''),
          remedy: RULES.find((r) => r.id === 'telemetry-growth')!.remedy, frames,
          evidence: {
            stacks: B.stacks,
            numbers: { firstCaptureShare: Math.round(A.share * 1e4) / 1e4, lastCaptureShare: Math.round(B.share * 1e4) / 1e4, captures: timed.length, secondsApart: Math.round(gapS), z: Math.round(z * 100) / 100, projectedShare: Math.round(projected * 1e4) / 1e4 },
            notes: [`${timed.length} captures of the same process; telemetry samples ${A.k} of ${A.rows} in the first, ${B.k} of ${B.rows} in the last (z=${z.toFixed(1)})`, `a cost that grows with uptime: ${pct(projected)} after ${t('horizonHours')} h at this rate`],
          },
          profile: null, profiles: timed,
        })
      }
    }
  }
  return out
}

/** Does any finding reach `min`? (`--fail-on`) `info` notes are never findings to fail on. */
export function failsOn(findings: readonly Finding[], min: Severity): boolean {
  return findings.some((f) => f.severity !== 'info' && atLeast(f.severity, min))
}
