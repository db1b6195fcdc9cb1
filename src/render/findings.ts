// Findings -> terminal text. Pure: returns a string. Frame names and messages are untrusted
// (they quote frame names), so everything passes termSafe.
import type { AnalysisReport, Finding, ReportFinding, Severity } from '../analyze/index.js'
import { atLeast } from '../analyze/index.js'
import { PLAIN, termSafe, type Style } from './style.js'
import { formatCores, formatPct as pct } from './units.js'

const LABEL: Record<Severity, string> = { high: 'HIGH', medium: 'MEDIUM', low: 'LOW', info: 'INFO' }

function label(s: Severity, st: Style): string {
  const t = LABEL[s].padEnd(6)
  switch (s) {
    case 'high': return st.bold(st.red(t))
    case 'medium': return st.yellow(t)
    case 'low': return st.cyan(t)
    default: return st.dim(t)
  }
}

/** An evidence stack on one line, innermost frames kept when long. */
function stackLine(frames: readonly string[], max = 6): string {
  const f = frames.length > max ? ['…', ...frames.slice(frames.length - max)] : frames
  return f.map((x) => termSafe(x)).join(' > ')
}

export interface RenderFindingsOptions {
  style?: Style
  /** Example stacks per finding (default 1). */
  stacks?: number
}

/** The findings as text blocks: severity, rule id, message; notes; an example stack; the fix. */
export function renderFindings(findings: readonly Finding[], opts: RenderFindingsOptions = {}): string {
  const st = opts.style ?? PLAIN
  const nStacks = opts.stacks ?? 1
  const idWidth = Math.max(16, ...findings.map((f) => f.ruleId.length + 2))
  const pad = ' '.repeat(6 + 2)
  const out: string[] = []
  for (const f of findings) {
    out.push(`${label(f.severity, st)}  ${st.bold(termSafe(f.ruleId).padEnd(idWidth))}${termSafe(f.message)}`)
    const inner = pad
    for (const n of f.evidence.notes) out.push(`${inner}${termSafe(n)}`)
    for (const s of f.evidence.stacks.slice(0, nStacks)) out.push(`${inner}${st.dim(`stack (${pct(s.share)}): ${stackLine(s.frames)}`)}`)
    if (f.remedy) out.push(`${inner}${st.green('fix:')} ${termSafe(f.remedy)}`)
  }
  return out.length ? out.join('\n') + '\n' : ''
}

export interface RenderReportOptions extends RenderFindingsOptions {
  /** Hide findings below this severity (default low). */
  level?: Severity
  /** Print the "not checked" lines (default true). */
  showSkipped?: boolean
}

function profileHeader(r: AnalysisReport, i: number): string {
  const p = r.profiles[i]!
  const parts: string[] = []
  if (p.durationNs !== undefined) parts.push(`${(p.durationNs / 1e9).toFixed(1)} s`)
  // from the unrounded measurement when there is one (the JSON's cores are rounded to 3 digits;
  // rounding twice could print a different figure than top and the flamegraph)
  const cores = p.cpuTimeNs !== undefined && p.durationNs ? p.cpuTimeNs / p.durationNs : p.cores
  if (cores !== undefined) parts.push(`${formatCores(cores)} cores busy (${p.cpuTimeNs !== undefined ? 'measured' : 'estimated from samples'})`)
  parts.push(`${p.samples.toLocaleString('en-US')} samples`)
  if (p.networkEvidence) parts.push('network evidence')
  const who = [p.name, p.pid !== undefined ? `pid ${p.pid}` : undefined].filter(Boolean).join(', ')
  return `${termSafe(p.input)}${who && who !== p.input ? ` (${termSafe(who)})` : ''}: ${parts.join(', ')}`
}

/** Whole report: per profile a header, its findings, what could not be checked; then cross-capture findings and a summary. */
export function renderReport(r: AnalysisReport, opts: RenderReportOptions = {}): string {
  const st = opts.style ?? PLAIN
  const level = opts.level ?? 'low'
  const shown = (f: ReportFinding) => atLeast(f.severity, level)
  const out: string[] = []
  for (const p of r.profiles) {
    const fs = r.findings.filter((f) => f.profile === p.index && shown(f))
    out.push(st.bold(`== ${profileHeader(r, p.index)}`))
    if (p.unprofiledCpu) out.push(st.yellow(termSafe(p.unprofiledCpu)))
    if (fs.length) out.push(renderFindings(fs, opts).trimEnd())
    else out.push(st.dim(`no findings at or above ${level}`))
    if (opts.showSkipped !== false && p.skipped.length) {
      out.push(st.dim(`not checked: ${p.skipped.map((s) => `${termSafe(s.ruleId)} (${termSafe(s.reason)})`).join('; ')}`))
    }
  }
  const cross = r.findings.filter((f) => f.profile === null && shown(f))
  if (cross.length) {
    out.push(st.bold('== across captures'))
    out.push(renderFindings(cross, opts).trimEnd())
  }
  // the CPU basis, said once: every share and cores figure above is on it
  if (r.profiles.length) out.push(st.dim('basis: shares are of each process\'s on-CPU samples (idle is not CPU); cores = share x the process CPU the capture measured, else estimated from the samples'))
  const visible = r.findings.filter(shown)
  const hidden = r.findings.length - visible.length
  const counts = (['high', 'medium', 'low', 'info'] as const).filter((s) => r.summary[s] > 0 && atLeast(s, level)).map((s) => `${r.summary[s]} ${s}`)
  const scope = `${r.rules.length} rule${r.rules.length === 1 ? '' : 's'} on ${r.profiles.length} profile${r.profiles.length === 1 ? '' : 's'}`
  let last = visible.length
    ? `${visible.length} finding${visible.length === 1 ? '' : 's'} (${counts.join(', ')}); ${scope}`
    : `no findings at or above ${level} (${scope})`
  if (hidden > 0) last += `; ${hidden} below ${level} hidden (--level info shows them)`
  out.push('')
  out.push(visible.length ? st.bold(last) : last)
  return out.join('\n') + '\n'
}
