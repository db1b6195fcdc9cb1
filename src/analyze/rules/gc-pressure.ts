// gc-pressure: garbage collection takes a large share of all CPU.
import { isGcFrame } from '../classify.js'
import { stackFrames } from '../../model/builder.js'
import type { Finding, Rule, RuleContext } from './types.js'
import { ladder, pct, cores as fmtCores, shortName, trimStack } from './util.js'

export const gcPressure: Rule = {
  id: 'gc-pressure',
  title: 'GC pressure',
  severity: 'high',
  source: 'builtin',
  description: 'Garbage collection (V8 (garbage collector), Go runtime GC, JVM GC threads) takes a large share of the process\'s CPU, at a cost of at least minCores.',
  remedy: 'allocate less on hot paths (reuse buffers, avoid per-message objects and closures); a heap that keeps growing makes every GC slower, so check for leaks too',
  thresholds: {
    minShare: { default: 0.1, min: 0, max: 1, description: 'GC share (of the on-CPU time) for severity low' },
    mediumShare: { default: 0.2, min: 0, max: 1, description: 'GC share for severity medium' },
    highShare: { default: 0.35, min: 0, max: 1, description: 'GC share for severity high' },
    minCores: { default: 0.02, min: 0, description: 'GC CPU (cores, when known) below which nothing is reported: a large share of a nearly idle process costs nothing' },
  },
  check(ctx: RuleContext): Finding[] {
    const { agg } = ctx
    const gc = agg.mask('gc', (f) => isGcFrame(f))
    const share = agg.share(gc.weight)
    const severity = ladder(share, ctx.t('minShare'), ctx.t('mediumShare'), ctx.t('highShare'))
    if (!severity) return []
    const c = agg.cores(gc.weight)
    if (c !== undefined && c < ctx.t('minCores')) return []
    const stacks = agg.topStacks(gc.stacks, 3, (n) => trimStack(n.map(shortName)))
    // Who allocates: the frame just above the first GC frame, when the profiler shows it.
    const callers = new Map<string, number>()
    const w = agg.stackWeights
    const p = agg.profile
    for (let s = 0; s < w.length; s++) {
      if (!gc.stacks[s] || w[s]! <= 0) continue
      const ids = stackFrames(p, s)
      const i = ids.findIndex((id) => isGcFrame(p.frames[id]!))
      if (i > 0) {
        const n = p.frames[ids[i - 1]!]!.name
        callers.set(n, (callers.get(n) ?? 0) + w[s]!)
      }
    }
    const top = [...callers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3)
    const notes = top.length
      ? [`GC entered from: ${top.map(([n, x]) => `${shortName(n)} (${pct(agg.share(x))})`).join(', ')}`]
      : ['the profiler shows GC without the allocating caller (V8 puts (garbage collector) at the root): a heap / allocation profile names who allocates']
    const gcFrames = new Set<string>()
    for (const s of stacks) for (const n of s.frames) if (isGcFrame({ name: n, kind: 'unknown' })) gcFrames.add(n)
    return [ctx.finding({
      severity,
      share,
      weight: gc.weight,
      message: `garbage collection takes ${pct(share)} of CPU` + (c !== undefined ? ` (${fmtCores(c)})` : ''),
      frames: gcFrames.size ? [...gcFrames] : ['(garbage collector)'],
      evidence: { stacks, numbers: { gcShare: Math.round(share * 1e4) / 1e4 }, notes },
    })]
  },
}
