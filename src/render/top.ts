// RankResult -> terminal table. Pure: returns a string.
import type { RankResult } from '../analyze/rank.js'
import { PLAIN, termSafe, type Style } from './style.js'
import { formatCores, formatPct, formatValue } from './units.js'

/** The CPU basis in one line: what the weights are, what a share is of, where cores come from. */
export function basisLine(r: RankResult): string {
  const b = r.basis
  const idle = b.idle > 0 ? `, ${formatValue(b.idle, r.unit)} idle (not CPU, not shown)` : ''
  const cpu = b.coresFrom === 'measured'
    ? `process CPU ${formatCores(b.cores!)} cores (measured: ${formatValue(b.cpuTimeNs!, 'nanoseconds')} in ${formatValue(b.durationNs!, 'nanoseconds')})`
    : b.coresFrom === 'samples'
      ? `process CPU ${formatCores(b.cores!)} cores (estimated from the samples over ${formatValue(b.durationNs!, 'nanoseconds')})`
      : 'no window or measured CPU'
  return `${formatValue(r.total, r.unit)} of ${b.weights} (${r.valueType}): ${formatValue(b.busy, r.unit)} on-CPU${idle}; shares are of on-CPU; ${cpu}`
}

export function renderTop(r: RankResult, opts: { style?: Style; sort?: 'self' | 'total'; title?: string } = {}): string {
  const st = opts.style ?? PLAIN
  const lines: string[] = []
  if (opts.title) lines.push(st.bold(termSafe(opts.title)))
  lines.push(st.dim(`${basisLine(r)}; showing ${r.rows.length} of ${r.groups}, sorted by ${opts.sort ?? 'self'}`))
  const withCores = r.basis.cores !== undefined
  const head = ['self', 'self%', 'sum%', 'total', 'total%', ...(withCores ? ['cores'] : []), 'name']
  const nNum = head.length - 1
  const cells = r.rows.map((row) => [
    formatValue(row.self, r.unit),
    formatPct(row.selfShare),
    formatPct(row.cumShare),
    formatValue(row.total, r.unit),
    formatPct(row.totalShare),
    ...(withCores ? [formatCores(row.totalCores ?? 0)] : []),
    termSafe(row.name) + (row.places ? st.dim(` (${row.places} places)`) : row.file && row.line ? st.dim(` ${termSafe(row.file)}:${row.line}`) : row.module && row.module !== row.name ? st.dim(` [${termSafe(row.module)}]`) : ''),
  ])
  const widths = head.slice(0, nNum).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  lines.push(st.bold(head.map((h, i) => (i < nNum ? h.padStart(widths[i]!) : h)).join('  ')))
  r.rows.forEach((row, k) => {
    const c = cells[k]!
    const nums = c.slice(0, nNum).map((x, i) => x.padStart(widths[i]!)).join('  ')
    const name = row.connect ? `${st.accent(c[nNum]!)} ${st.accent('[connect]')}` : c[nNum]!
    lines.push(`${nums}  ${name}`)
  })
  return lines.join('\n') + '\n'
}
