// DiffResult -> terminal text: headline, ranked deltas table, appeared/gone, per-node breakdown.
// Pure: returns a string. Growth is red and shrinkage green (more CPU is the bad direction).
import type { DiffResult, DiffRow, FindingRef } from '../diff/types.js'
import { rowChange } from '../diff/index.js'
import { PLAIN, termSafe, type Style } from './style.js'
import { formatPct } from './units.js'
import { formatCores as basisCores } from '../model/cpu-basis.js'

export interface RenderDiffOptions {
  style?: Style
  /** Rows in the table (0 = all). Default 20. */
  limit?: number
  /** Movers listed in the headline. Default 3. */
  headlineRows?: number
}

/** Signed percentage points from a fraction delta: 0.614 -> "+61.4 pp". Exact zero has no sign. */
export function formatPp(d: number): string {
  if (d === 0) return '0.0 pp'
  return `${d > 0 ? '+' : '-'}${(Math.abs(d) * 100).toFixed(1)} pp`
}

/** Cores as analyze and top print them (formatCores of the CPU basis), or with fixed digits for columns. */
export function formatCores(x: number, digits?: number): string {
  return digits === undefined ? basisCores(x) : x.toFixed(digits)
}

function signedCores(d: number, digits = 3): string {
  if (d === 0) return (0).toFixed(digits)
  return `${d > 0 ? '+' : '-'}${Math.abs(d).toFixed(digits)}`
}

/** Relative change: 0.5 -> "+50%". */
export function formatRel(r: number): string {
  if (r === Infinity) return 'new'
  if (r === 0) return '0%'
  const v = Math.abs(r * 100)
  return `${r > 0 ? '+' : '-'}${v >= 10 ? v.toFixed(0) : v.toFixed(1)}%`
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

function colourBy(st: Style, d: number, s: string): string {
  return d > 0 ? st.red(s) : d < 0 ? st.green(s) : s
}

function findingList(fs: readonly FindingRef[]): string {
  return fs.length ? fs.map((f) => `${termSafe(f.ruleId)} (${termSafe(f.severity).toUpperCase()})`).join(', ') : 'none'
}

function location(r: DiffRow): string {
  if (r.file) return ` ${r.file}${r.line ? `:${r.line}` : ''}`
  return ''
}

/** Name for the headline: anonymous functions get their file's base name and line. */
function shortName(r: DiffRow): string {
  if (r.name === '(anonymous)' && r.file) return termSafe(`${r.name} ${r.file.slice(r.file.lastIndexOf('/') + 1)}${r.line ? `:${r.line}` : ''}`)
  return termSafe(r.name)
}

/**
 * The few rows the headline names: the frames that explain the change, not the ones it passes
 * through. Context rows (under nearly every sample on both sides, runtime task polls: DiffRow.context)
 * come only when nothing else moved. Ranked rows by |Δ total| are led by callers (timers, the event
 * loop, a tick's own async fn), whose change is their callees'; so among the rows of comparable size
 * (at least half the top change) the frames that are gone or appeared and the connect/handshake frames
 * come first, and the biggest connect and gone/appeared frames get a place when their change is at
 * least a quarter of the top one. The rest are the top rows. Shown in rank order.
 */
export function headlineRows(d: DiffResult, n: number): DiffRow[] {
  const moved = d.rows.filter((r) => r.kind !== 'idle' && r.status !== 'same')
  const cand = moved.some((r) => !r.context) ? moved.filter((r) => !r.context) : moved
  if (cand.length === 0 || n <= 0) return []
  const mag = (r: DiffRow) => Math.abs(rowChange(r, d.basis, 'total'))
  const top = mag(cand[0]!)
  const picks: DiffRow[] = []
  const pick = (r: DiffRow | undefined, min: number) => { if (r && picks.length < n && !picks.includes(r) && mag(r) >= min) picks.push(r) }
  const named = (r: DiffRow) => r.status === 'gone' || r.status === 'appeared'
  pick(cand.find((r) => r.connect), top / 4)
  pick(cand.find(named), top / 4)
  for (const r of cand) if (named(r) && r.connect) pick(r, top / 2)
  for (const r of cand) if (named(r) || r.connect) pick(r, top / 2)
  for (const r of cand) pick(r, 0)
  return picks.sort((x, y) => d.rows.indexOf(x) - d.rows.indexOf(y))
}

export function renderDiff(d: DiffResult, opts: RenderDiffOptions = {}): string {
  const st = opts.style ?? PLAIN
  const limit = opts.limit ?? 20
  const lines: string[] = []
  const cores = d.basis === 'cores'
  const fmts = (s: DiffResult['before']) => `${termSafe(s.label)} (${s.nodes.length > 1 ? `${s.nodes.length} nodes, ` : ''}${s.formats.join('+')})`
  lines.push(st.dim(`before: ${fmts(d.before)}   after: ${fmts(d.after)}`))
  lines.push(st.dim(`basis: ${termSafe(d.basisReason)}`))
  // Named because top and analyze use another one (their % are of on-CPU samples; the cores agree).
  lines.push(st.dim(`shares: % of each side's samples, idle included (top's % are of on-CPU samples)`))
  if (d.stripLinesReason) lines.push(st.dim(`matching: ${termSafe(d.stripLinesReason)}`))
  const f = d.filters
  if (f.focus || f.ignore || f.hide) {
    lines.push(st.dim(`filters: ${[f.focus && `focus=${f.focus}`, f.ignore && `ignore=${f.ignore}`, f.hide && `hide=${f.hide}`].filter(Boolean).map((x) => termSafe(String(x))).join(' ')} (shares stay of the whole profile)`))
  }
  for (const w of d.warnings) lines.push(st.dim(`note: ${termSafe(w)}`))
  lines.push('')

  // --- headline
  const samples = d.before.samples !== null && d.after.samples !== null ? `   samples: ${count(d.before.samples)} -> ${count(d.after.samples)}` : ''
  if (cores) {
    lines.push(st.bold(`CPU: ${formatCores(d.cpu.before)} -> ${formatCores(d.cpu.after)} cores (${formatRel(d.cpu.change)})`) + samples)
  } else {
    lines.push(st.bold(`CPU (busy share of samples): ${formatPct(d.cpu.before)} -> ${formatPct(d.cpu.after)} (${formatPp(d.cpu.change)})`) + samples)
  }
  const movers = headlineRows(d, opts.headlineRows ?? 3)
  const nameW = Math.max(0, ...movers.map((r) => shortName(r).length))
  if (movers.length === 0) lines.push(d.rows.some((r) => r.status !== 'same') ? 'only idle changed' : 'no function changed')
  for (const r of movers) {
    const name = shortName(r).padEnd(nameW)
    const shares = `${formatPct(r.before.totalShare)} -> ${formatPct(r.after.totalShare)}`
    const c = cores ? `  (${signedCores(r.delta.totalCores!, 2)} cores)` : ''
    const tag = r.status === 'gone' || r.status === 'appeared' ? `   ${r.status}` : ''
    const text = `${name} (total)  ${shares.padStart(15)}   ${formatPp(r.delta.totalShare).padStart(9)}${c}${tag}`
    lines.push(r.connect ? st.accent(text) : colourBy(st, rowChange(r, d.basis, 'total'), text))
  }
  if (d.findings.available) {
    const fl = `resolved: ${findingList(d.findings.resolved)}        new: ${findingList(d.findings.new)}`
    lines.push(d.findings.unchanged.length ? `${fl}        unchanged: ${findingList(d.findings.unchanged)}` : fl)
  }
  lines.push('')

  // --- table
  const rows = limit > 0 ? d.rows.slice(0, limit) : d.rows
  const head = cores ? ['Δtotal', 'total cores', 'Δtotal%', 'Δself', 'self cores', 'name'] : ['Δtotal', 'total', 'Δself', 'self', 'name']
  const cells = rows.map((r) => {
    const name = termSafe(r.name)
    if (cores) {
      return [
        signedCores(r.delta.totalCores!),
        `${formatCores(r.before.totalCores!, 3)} -> ${formatCores(r.after.totalCores!, 3)}`,
        formatPp(r.delta.totalShare),
        signedCores(r.delta.selfCores!),
        `${formatCores(r.before.selfCores!, 3)} -> ${formatCores(r.after.selfCores!, 3)}`,
        name,
      ]
    }
    return [
      formatPp(r.delta.totalShare),
      `${formatPct(r.before.totalShare)} -> ${formatPct(r.after.totalShare)}`,
      formatPp(r.delta.selfShare),
      `${formatPct(r.before.selfShare)} -> ${formatPct(r.after.selfShare)}`,
      name,
    ]
  })
  const nNum = head.length - 1
  const widths = head.slice(0, nNum).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  lines.push(st.bold(head.map((h, i) => (i < nNum ? h.padStart(widths[i]!) : h)).join('  ')))
  rows.forEach((r, k) => {
    const c = cells[k]!
    const nums = c.slice(0, nNum).map((x, i) => x.padStart(widths[i]!)).join('  ')
    let name = r.connect ? st.accent(c[nNum]!) : c[nNum]!
    const loc = location(r)
    if (loc) name += st.dim(termSafe(loc))
    if (r.status === 'gone') name += ' ' + st.green('[gone]')
    if (r.status === 'appeared') name += ' ' + st.red('[appeared]')
    if (r.connect) name += ' ' + st.accent('[connect]')
    lines.push(`${colourBy(st, rowChange(r, d.basis, d.sort), nums)}  ${name}`)
  })
  const unit = cores ? 'cores' : 'share'
  lines.push(st.dim(`showing ${rows.length} of ${d.rows.length} ${d.by === 'function' ? 'functions' : d.by === 'file' ? 'files' : 'modules'}, ranked by |Δ ${d.sort}| (${unit}); appeared: ${d.appeared}, gone: ${d.gone}`))

  // --- appeared / gone beyond the table
  const list = (status: 'gone' | 'appeared') => {
    const all = d.rows.filter((r) => r.status === status)
    if (all.length === 0) return
    const side = status === 'gone' ? 'before' : 'after'
    all.sort((x, y) => y[side].totalShare - x[side].totalShare || (x.key < y.key ? -1 : 1))
    const shown = all.slice(0, 8).map((r) => `${termSafe(r.name)} ${formatPct(r[side].totalShare)}`)
    lines.push(`${status} (${all.length}): ${shown.join(', ')}${all.length > 8 ? ', ...' : ''}`)
  }
  list('gone')
  list('appeared')

  // --- nodes
  if (d.nodes) {
    lines.push('')
    const nh = ['node', cores ? 'cores before -> after' : 'busy before -> after', 'change']
    const ncells = d.nodes.map((n) => {
      const b = n.before
      const a = n.after
      if (cores) {
        const bc = b?.cores ?? null
        const ac = a?.cores ?? null
        return [
          termSafe(n.name),
          `${bc === null ? '-' : formatCores(bc)} -> ${ac === null ? '-' : formatCores(ac)}`,
          bc !== null && ac !== null ? formatRel(bc > 0 ? ac / bc - 1 : ac > 0 ? Infinity : 0) : !b ? 'only after' : 'only before',
        ]
      }
      return [
        termSafe(n.name),
        `${b ? formatPct(b.busyShare) : '-'} -> ${a ? formatPct(a.busyShare) : '-'}`,
        b && a ? formatPp(a.busyShare - b.busyShare) : !b ? 'only after' : 'only before',
      ]
    })
    const nw = nh.map((h, i) => Math.max(h.length, ...ncells.map((c) => c[i]!.length)))
    lines.push(st.bold(nh.map((h, i) => (i === 0 ? h.padEnd(nw[i]!) : h.padStart(nw[i]!))).join('  ')))
    for (const c of ncells) lines.push(c.map((x, i) => (i === 0 ? x.padEnd(nw[i]!) : x.padStart(nw[i]!))).join('  '))
  }
  return lines.join('\n') + '\n'
}
