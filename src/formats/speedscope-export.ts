// Profiles -> speedscope file format (valid against the file-format-schema.json the `speedscope`
// package ships). One "sampled" profile per input profile, frames shared across them, weights from
// each profile's default value column. Profiles with timestamps keep their samples in time order
// (speedscope's time-order view then shows the real timeline); others get one sample per stack.
// Stacks are written iteratively from the trie, so 50,000-frame stacks are fine.
import type { Profile } from '../model/types.js'
import { frameKey } from '../model/builder.js'
import { stackWeights } from '../model/ops.js'
import { VERSION } from '../version.js'
import { SPEEDSCOPE_SCHEMA } from './speedscope.js'

const UNIT: Record<string, string> = { nanoseconds: 'nanoseconds', microseconds: 'microseconds', milliseconds: 'milliseconds', seconds: 'seconds', bytes: 'bytes' }

/** Serialise profiles as a speedscope file (https://www.speedscope.app/file-format-schema.json). */
export function toSpeedscope(ps: readonly Profile[], name?: string): string {
  const sharedFrames: string[] = []
  const sharedIndex = new Map<string, number>()
  const profileJson: string[] = []
  ps.forEach((p, pi) => {
    // frame id -> shared index
    const fmap = p.frames.map((f) => {
      const k = frameKey(f)
      let i = sharedIndex.get(k)
      if (i === undefined) {
        i = sharedFrames.length
        sharedIndex.set(k, i)
        const o: Record<string, unknown> = { name: f.name }
        if (f.file !== undefined) o.file = f.file
        if (f.line !== undefined) o.line = f.line
        if (f.col !== undefined) o.col = f.col
        sharedFrames.push(JSON.stringify(o))
      }
      return i
    })
    // Stack id -> "[a,b,c]" (root first), built parent-first so each is its parent's text + one.
    const stackText = new Array<string | undefined>(p.stackFrame.length)
    const textOf = (s: number): string => {
      if (s < 0) return '[]'
      let t = stackText[s]
      if (t !== undefined) return t
      // Collect uncomputed ancestors, then fill downwards (no recursion).
      const chain: number[] = []
      let a = s
      while (a >= 0 && stackText[a] === undefined) { chain.push(a); a = p.stackParent[a]! }
      let prefix = a >= 0 ? stackText[a]!.slice(1, -1) : ''
      for (let j = chain.length - 1; j >= 0; j--) {
        const c = chain[j]!
        prefix = prefix === '' ? String(fmap[p.stackFrame[c]!]) : `${prefix},${fmap[p.stackFrame[c]!]}`
        // Deep stacks: keep only the leaf's text to bound memory at O(unique stacks x depth) once.
        if (j === 0 || chain.length < 2048) stackText[c] = `[${prefix}]`
      }
      t = stackText[s]!
      return t
    }
    const col = p.values[p.defaultValue]!
    const vt = p.valueTypes[p.defaultValue]!
    const unit = UNIT[vt.unit] ?? 'none'
    const samples: string[] = []
    const weights: number[] = []
    if (p.times) {
      const order = Array.from({ length: p.sampleStack.length }, (_, i) => i)
      const times = p.times
      order.sort((a, b) => times[a]! - times[b]! || a - b)
      for (const r of order) {
        const w = col[r]!
        if (!(w > 0)) continue
        samples.push(textOf(p.sampleStack[r]!))
        weights.push(w)
      }
    } else {
      const w = stackWeights(p, p.defaultValue)
      for (let s = 0; s < w.length; s++) {
        if (!(w[s]! > 0)) continue
        samples.push(textOf(s))
        weights.push(w[s]!)
      }
      // rows with no stack (-1) carry weight too
      let empty = 0
      for (let r = 0; r < p.sampleStack.length; r++) if (p.sampleStack[r]! < 0 && col[r]! > 0) empty += col[r]!
      if (empty > 0) { samples.push('[]'); weights.push(empty) }
    }
    let total = 0
    for (const w of weights) total += w
    const pname = p.meta.name ?? `${name ?? 'profile'}${ps.length > 1 ? ` #${pi + 1}` : ''}`
    profileJson.push(
      `{"type":"sampled","name":${JSON.stringify(pname)},"unit":${JSON.stringify(unit)},"startValue":0,"endValue":${num(total)},` +
        `"samples":[${samples.join(',')}],"weights":[${weights.map(num).join(',')}]}`,
    )
  })
  return (
    `{"$schema":${JSON.stringify(SPEEDSCOPE_SCHEMA)},"exporter":${JSON.stringify(`meshprof@${VERSION}`)},` +
    `"name":${JSON.stringify(name ?? ps[0]?.meta.name ?? 'profile')},"activeProfileIndex":0,` +
    `"shared":{"frames":[${sharedFrames.join(',')}]},"profiles":[${profileJson.join(',')}]}\n`
  )
}

function num(x: number): string {
  return Number.isFinite(x) ? String(x) : '0'
}
