// Values to short human strings.

export function formatValue(v: number, unit: string): string {
  if (unit === 'nanoseconds') {
    if (v >= 1e9) return `${(v / 1e9).toFixed(2)}s`
    if (v >= 1e6) return `${(v / 1e6).toFixed(1)}ms`
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)}us`
    return `${Math.round(v)}ns`
  }
  if (unit === 'microseconds') return formatValue(v * 1e3, 'nanoseconds')
  if (unit === 'milliseconds') return formatValue(v * 1e6, 'nanoseconds')
  if (unit === 'bytes') {
    if (v >= 1 << 30) return `${(v / (1 << 30)).toFixed(2)}GiB`
    if (v >= 1 << 20) return `${(v / (1 << 20)).toFixed(1)}MiB`
    if (v >= 1 << 10) return `${(v / (1 << 10)).toFixed(1)}KiB`
    return `${Math.round(v)}B`
  }
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)
}

export function formatPct(x: number): string {
  if (!Number.isFinite(x)) return '-'
  return `${(x * 100).toFixed(1)}%`
}

export { formatCores } from '../model/cpu-basis.js'
