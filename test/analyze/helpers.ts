// Small hand-built profiles for the analyze rule tests.
import { ProfileBuilder } from '../../src/model/builder.js'
import type { FrameKind, NetworkEvidence, Profile, ProfileMeta } from '../../src/model/types.js'
import { parseFoldedStream } from '../../src/formats/folded.js'

export function folded(text: string, name = 'test.folded'): Promise<Profile> {
  return parseFoldedStream([text], name)
}

function kindOf(name: string): FrameKind {
  if (name === '(idle)') return 'idle'
  if (name === '(garbage collector)') return 'gc'
  if (name === '(program)') return 'program'
  return 'js'
}

export interface TimelineSpec {
  durationMs: number
  periodMs?: number
  /** The stack ('a;b;c', root first) sampled at time t (ms since the window start). */
  at: (tMs: number, i: number) => string
  meta?: ProfileMeta
  network?: NetworkEvidence
  /** true: emulate a V8 cpuprofile (records idle; sourceFormat cpuprofile). */
  v8?: boolean
}

/** A per-sample profile with timestamps: values samples/count and cpu/nanoseconds (the period). */
export function timeline(spec: TimelineSpec): Profile {
  const period = spec.periodMs ?? 1
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }], {
    name: 'timeline',
    sourceFormat: spec.v8 === false ? 'perf-script' : 'cpuprofile',
    durationNs: spec.durationMs * 1e6,
    periodNs: period * 1e6,
    ...spec.meta,
  }, false)
  b.defaultValue = 1
  const cache = new Map<string, number>()
  const n = Math.round(spec.durationMs / period)
  for (let i = 0; i < n; i++) {
    const t = i * period
    const st = spec.at(t, i)
    if (st === '') continue
    let s = cache.get(st)
    if (s === undefined) {
      s = b.stackFromFrames(st.split(';').map((f) => b.internName(f, kindOf(f))))
      cache.set(st, s)
    }
    b.addSample(s, [1, period * 1e6], t * 1e6)
  }
  if (spec.network) b.network = spec.network
  return b.build()
}

export const TIMER = 'processTimers;listOnTimeout'
