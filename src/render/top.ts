// RankResult -> terminal table. Pure: returns a string.
import type { RankResult } from '../analyze/rank.js'
import { PLAIN, termSafe, type Style } from './style.js'
import { formatPct, formatValue } from './units.js'

export function renderTop(r: RankResult, opts: { style?: Style; sort?: 'self' | 'total'; title?: string } = {}): string {
  const st = opts.style ?? PLAIN
  const lines: string[] = []
  if (opts.title) lines.push(st.bold(termSafe(opts.title)))
  lines.push(st.dim(`total ${formatValue(r.total, r.unit)} ${r.valueType}; showing ${r.rows.length} of ${r.groups}, sorted by ${opts.sort ?? 'self'}`))
  const head = ['self', 'self%', 'sum%', 'total', 'total%', 'name']
  const cells = r.rows.map((row) => [
    formatValue(row.self, r.unit),
    formatPct(row.selfShare),
    formatPct(row.cumShare),
    formatValue(row.total, r.unit),
    formatPct(row.totalShare),
    termSafe(row.name) + (row.file && row.line ? st.dim(` ${termSafe(row.file)}:${row.line}`) : row.module && row.module !== row.name ? st.dim(` [${termSafe(row.module)}]`) : ''),
  ])
  const widths = head.slice(0, 5).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  lines.push(st.bold(head.map((h, i) => (i < 5 ? h.padStart(widths[i]!) : h)).join('  ')))
  r.rows.forEach((row, k) => {
    const c = cells[k]!
    const nums = c.slice(0, 5).map((x, i) => x.padStart(widths[i]!)).join('  ')
    const name = row.connect ? `${st.accent(c[5]!)} ${st.accent('[connect]')}` : c[5]!
    lines.push(`${nums}  ${name}`)
  })
  return lines.join('\n') + '\n'
}
