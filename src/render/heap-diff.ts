// Terminal form of `meshprof diff --heap` (src/diff/heap.ts): process figures, then allocation
// sites ranked by how much more (or less) live heap they hold after than before.
import type { HeapDiff, HeapSideFacts } from '../diff/heap.js'
import { fmtValue } from '../analyze/rules/growth.js'
import { PLAIN, termSafe, type Style } from './style.js'

function signed(v: number, unit: 'count' | 'bytes'): string {
  return `${v > 0 ? '+' : v < 0 ? '-' : '±'}${fmtValue(Math.abs(v), unit)}`
}

function fig(name: string, a: number | undefined, b: number | undefined, unit: 'count' | 'bytes'): string | undefined {
  if (a === undefined || b === undefined) return undefined
  return `${name}: ${fmtValue(a, unit)} -> ${fmtValue(b, unit)} (${signed(b - a, unit)})`
}

function handlesLine(a: HeapSideFacts, b: HeapSideFacts): string | undefined {
  const types = [...new Set([...Object.keys(a.handles), ...Object.keys(b.handles)])].sort()
  const parts = types.map((t) => ({ t, x: a.handles[t] ?? 0, y: b.handles[t] ?? 0 })).filter((h) => h.x !== h.y)
  parts.sort((p, q) => Math.abs(q.y - q.x) - Math.abs(p.y - p.x))
  if (!parts.length) return types.length ? 'handles: unchanged' : undefined
  return `handles: ${parts.slice(0, 5).map((h) => `${termSafe(h.t)} ${h.x} -> ${h.y} (${signed(h.y - h.x, 'count')})`).join(', ')}`
}

export function renderHeapDiff(d: HeapDiff, opts: { style?: Style; limit?: number } = {}): string {
  const st = opts.style ?? PLAIN
  const lines: string[] = [st.dim(`basis: ${d.basis}`)]
  lines.push(st.bold(fig('live heap sampled', d.before.liveBytes, d.after.liveBytes, 'bytes')!))
  for (const l of [fig('V8 used heap at the end of the window', d.before.heapUsed, d.after.heapUsed, 'bytes'), fig('RSS', d.before.rss, d.after.rss, 'bytes'), handlesLine(d.before, d.after)]) if (l) lines.push(l)
  const rows = opts.limit ? d.rows.slice(0, opts.limit) : d.rows
  lines.push('')
  lines.push(st.bold(`${'before'.padStart(10)}  ${'after'.padStart(10)}  ${'change'.padStart(10)}  allocation site (caller > innermost application frame)`))
  for (const r of rows) {
    const change = signed(r.delta, 'bytes').padStart(10)
    const tag = r.before === 0 && r.after > 0 ? '  new' : r.after === 0 && r.before > 0 ? '  gone' : ''
    lines.push(`${fmtValue(r.before, 'bytes').padStart(10)}  ${fmtValue(r.after, 'bytes').padStart(10)}  ${r.delta > 0 ? st.red(change) : r.delta < 0 ? st.green(change) : change}  ${termSafe(r.site.join(' > '))}${tag}`)
  }
  if (rows.length < d.rows.length) lines.push(st.dim(`… ${d.rows.length - rows.length} more sites (--limit 0 shows all)`))
  return lines.join('\n') + '\n'
}
