// Brendan Gregg's folded ("collapsed") stacks: `root;child;leaf 42` per line, as written by
// FlameGraph's stackcollapse-*.pl, inferno-collapse-*, Rust tracing-flame (weights in ns),
// async-profiler's collapsed output. A line with two counts (difffolded.pl / inferno-diff-folded)
// becomes two value columns, "before" and "after".
import { ProfileBuilder } from '../model/builder.js'
import type { FrameKind, Profile } from '../model/types.js'
import { weightedStacks } from '../model/ops.js'
import { MalformedInputError } from '../util/errors.js'
import type { Importer } from './types.js'

const LINE = /^(.*?\S)\s+(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?:\s+(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))?\s*$/

/** inferno / FlameGraph annotation suffixes. */
export function kindOfFoldedFrame(name: string): FrameKind {
  if (name.endsWith('_[k]')) return 'kernel'
  if (name.endsWith('_[j]')) return 'js'
  if (/^\[?(unknown|[^\]]*\.so[^\]]*)\]?$/.test(name)) return 'native'
  if (name === '(idle)' || name === 'cpu_idle' || name === 'swapper' || name.startsWith('cpuidle_') || name === 'do_idle') return 'idle'
  if (name === '(garbage collector)' || /^(GC|v8::internal::Heap::|Scavenge|MarkCompact)/.test(name)) return 'gc'
  if (name === '(program)') return 'program'
  if (/\.(m?[jt]sx?|cjs):\d+/.test(name) || /^node:/.test(name)) return 'js'
  return 'unknown'
}

function looksFolded(line: string): boolean {
  return LINE.test(line) && !/^\s/.test(line)
}

export const foldedImporter: Importer = {
  id: 'folded',
  title: 'folded stacks (FlameGraph / inferno / tracing-flame)',
  sniff(_head, text) {
    // Only look at complete lines; the last one may be cut by the head limit.
    const lines = text.split(/\r?\n/)
    if (lines.length > 1) lines.pop()
    let good = 0
    let bad = 0
    for (const l of lines.slice(0, 200)) {
      if (l.trim() === '' || l.startsWith('#')) continue
      if (l.startsWith('\t') || l.startsWith(' ')) return false
      if (looksFolded(l)) good++
      else bad++
    }
    return good > 0 && good >= bad * 4
  },
  async parse(input, options) {
    return [await parseFoldedStream(input.stream(), input.name, options.warn)]
  },
}

/** Parse folded text from a stream of chunks. Aggregates equal stacks; memory is O(unique stacks). */
export async function parseFoldedStream(stream: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, name: string, warn?: (m: string) => void): Promise<Profile> {
  let b: ProfileBuilder | undefined
  let two = false
  let lineNo = 0
  let badLines = 0
  let rest = ''
  const frameCache = new Map<string, number>()
  const handle = (raw: string) => {
    lineNo++
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line === '' || line.startsWith('#')) return
    const m = LINE.exec(line)
    if (!m) {
      badLines++
      if (badLines <= 3) warn?.(`${name}:${lineNo}: not a folded line, skipped`)
      return
    }
    if (!b) {
      two = m[3] !== undefined
      b = new ProfileBuilder(two ? [{ type: 'before', unit: 'count' }, { type: 'after', unit: 'count' }] : [{ type: 'samples', unit: 'count' }], { name, sourceFormat: 'folded' })
      if (two) b.defaultValue = 1
    }
    const stackText = m[1]!
    let s = -1
    let start = 0
    // Split on ';' without allocating an array per line.
    for (let i = 0; i <= stackText.length; i++) {
      if (i === stackText.length || stackText.charCodeAt(i) === 59) {
        if (i > start) {
          const fname = stackText.slice(start, i)
          let fid = frameCache.get(fname)
          if (fid === undefined) {
            fid = b.internName(fname, kindOfFoldedFrame(fname))
            frameCache.set(fname, fid)
          }
          s = b.stackOf(s, fid)
        }
        start = i + 1
      }
    }
    const v1 = Number(m[2])
    const v2 = m[3] !== undefined ? Number(m[3]) : undefined
    if (two) b.addSample(s, [v1, v2 ?? 0])
    else b.addSample(s, v1)
  }
  for await (const chunk of stream) {
    const text = rest + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'))
    let pos = 0
    for (;;) {
      const nl = text.indexOf('\n', pos)
      if (nl < 0) break
      handle(text.slice(pos, nl))
      pos = nl + 1
    }
    rest = text.slice(pos)
    if (rest.length > 64 * 1024 * 1024) throw new MalformedInputError('folded', `${name}: a line longer than 64 MiB`)
  }
  if (rest !== '') handle(rest)
  if (badLines > 3) warn?.(`${name}: ${badLines} lines were not folded stacks and were skipped`)
  if (!b) {
    if (badLines > 0) throw new MalformedInputError('folded', `${name}: no valid folded stack line`)
    b = new ProfileBuilder([{ type: 'samples', unit: 'count' }], { name, sourceFormat: 'folded' })
  }
  return b.build()
}

/** A frame name made safe for one folded field: no ';' (stackcollapse turns it into ':'), no newline. */
export function foldedFrameName(name: string): string {
  return name.replace(/;/g, ':').replace(/[\r\n]+/g, ' ')
}

function formatWeight(w: number): string {
  return Number.isInteger(w) ? String(w) : String(Number(w.toFixed(6)))
}

/**
 * Folded lines for a profile, sorted by stack text like stackcollapse-perf.pl (`sort keys`).
 * Frames are named by `name` only, so the output feeds flamegraph.pl / inferno directly.
 */
export function toFoldedLines(p: Profile, value = p.defaultValue): string[] {
  const agg = new Map<string, number>()
  const names = p.frames.map((f) => foldedFrameName(f.name))
  for (const { frames, weight } of weightedStacks(p, value)) {
    const key = frames.map((f) => names[f]).join(';')
    agg.set(key, (agg.get(key) ?? 0) + weight)
  }
  const keys = [...agg.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return keys.map((k) => `${k} ${formatWeight(agg.get(k)!)}`)
}

export function toFolded(p: Profile, value = p.defaultValue): string {
  const lines = toFoldedLines(p, value)
  return lines.length ? lines.join('\n') + '\n' : ''
}
