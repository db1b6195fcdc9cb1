// Small helpers the rules share: wording of numbers, severity ladders, stack trimming.
import type { Severity } from './types.js'
import { formatCores } from '../../model/cpu-basis.js'

export function pct(x: number): string {
  if (!Number.isFinite(x)) return '-'
  const v = x * 100
  return `${v >= 10 || v === 0 ? v.toFixed(1) : v.toFixed(v >= 1 ? 1 : 2)}%`
}

export function cores(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return ''
  return `${formatCores(x)} cores`
}

export function secs(ns: number | undefined): string {
  if (ns === undefined || !Number.isFinite(ns)) return '?'
  const s = ns / 1e9
  return s >= 10 ? `${s.toFixed(0)} s` : `${s.toFixed(1)} s`
}

export function ms(x: number): string {
  return x >= 100 ? `${Math.round(x / 10) * 10} ms` : `${Math.round(x)} ms`
}

/** The severity a share earns on a low/medium/high ladder (undefined: below low). */
export function ladder(share: number, low: number, medium: number, high: number): Severity | undefined {
  if (share >= high) return 'high'
  if (share >= medium) return 'medium'
  if (share >= low) return 'low'
  return undefined
}

/** Keep evidence stacks readable: the 4 outermost and the 24 innermost frames of a deep stack. */
export function trimStack(names: string[], max = 30): string[] {
  if (names.length <= max) return names
  return [...names.slice(0, 4), `… ${names.length - 28} frames …`, ...names.slice(names.length - 24)]
}

/** Median of a list of numbers (undefined when empty). */
export function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** "a -> b -> c", shortening long chains in the middle. */
export function chain(names: string[], max = 5): string {
  const n = names.filter((x, i) => i === 0 || x !== names[i - 1])
  if (n.length <= max) return n.join(' -> ')
  return [...n.slice(0, 2), '…', ...n.slice(n.length - (max - 2))].join(' -> ')
}

/** Short display form of a frame name: tracing-flame's `module::fn:file:line` loses the file part. */
export function shortName(name: string): string {
  const t = name.trim()
  // tracing-flame: "crate::module::span:src/file.rs:42"
  const m = /^(.*?[A-Za-z0-9_>)\]])(:[^:\s]*\.(rs|go|c|cc|cpp|js|ts|py)(:\d+)?)$/.exec(t)
  return m ? m[1]! : t
}
