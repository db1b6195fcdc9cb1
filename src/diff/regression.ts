// `--fail-on-regression PCT` for CI. A diff is a regression when either
//  1. whole-profile CPU grew by more than PCT:
//     - cores basis: relative growth, (after - before) / before * 100 > PCT (from 0 cores: any growth);
//     - shares basis: busy share (non-idle fraction of samples) grew by more than PCT percentage points;
//  2. or any non-idle row's total share grew by more than PCT percentage points (shares in both bases,
//     so a function that takes over more of the process is caught even when the process got cheaper).
// "More than" is strict: a diff of a profile with itself (all changes exactly 0) passes at PCT = 0.
import type { DiffResult } from './types.js'

export interface Regression {
  /** 'cpu' or 'frame'. */
  kind: 'cpu' | 'frame'
  /** Row name for frame regressions. */
  name?: string
  /** The measured growth: percent (cpu, cores basis) or percentage points. */
  growth: number
  unit: '%' | 'pp'
  message: string
}

export function findRegressions(d: DiffResult, pct: number): Regression[] {
  const out: Regression[] = []
  if (d.cpu.unit === 'cores') {
    const growth = d.cpu.change * 100
    if (growth > pct) {
      out.push({ kind: 'cpu', growth, unit: '%', message: `CPU ${d.cpu.before.toFixed(2)} -> ${d.cpu.after.toFixed(2)} cores (${growth === Infinity ? 'from zero' : `+${growth.toFixed(1)}%`}) > ${pct}%` })
    }
  } else {
    const growth = d.cpu.change * 100
    if (growth > pct) out.push({ kind: 'cpu', growth, unit: 'pp', message: `busy share +${growth.toFixed(1)} pp > ${pct} pp` })
  }
  for (const r of d.rows) {
    if (r.kind === 'idle') continue
    const growth = r.delta.totalShare * 100
    if (growth > pct) out.push({ kind: 'frame', name: r.name, growth, unit: 'pp', message: `${r.name} total share +${growth.toFixed(1)} pp > ${pct} pp` })
  }
  // Largest first, then name, so the one-line summary is stable.
  out.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'cpu' ? -1 : 1) || b.growth - a.growth || ((a.name ?? '') < (b.name ?? '') ? -1 : 1))
  return out
}
