// Brendan Gregg's folded ("collapsed") stacks: `root;child;leaf 42` per line, as written by
// FlameGraph's stackcollapse-*.pl, inferno-collapse-*, Rust tracing-flame (weights in ns),
// async-profiler's collapsed output. A line with two counts (difffolded.pl / inferno-diff-folded)
// becomes two value columns, "before" and "after".
import type { Frame, FrameKind, Profile } from '../model/types.js'
import { StackTrie } from './stack-trie.js'
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
    else if (text.length >= 32 * 1024) {
      // One line longer than the head (a very deep stack): judge its start.
      const l = lines[0]!
      return !/^[\s{[<#]/.test(l) && !l.includes('\t') && l.includes(';') && !/\x00/.test(l)
    }
    let good = 0
    let bad = 0
    for (const l of lines.slice(0, 200)) {
      if (l.trim() === '' || l.startsWith('#') || l.startsWith('//')) continue
      if (l.startsWith('\t') || l.startsWith(' ')) return false
      if (looksFolded(l)) good++
      else bad++
    }
    // A few bad lines (inferno's and speedscope's test files have them) do not make it another format.
    return good > 0 && good >= bad * 2
  },
  async parse(input, options) {
    return [await parseFoldedStream(input.stream(), input.name, options.warn)]
  },
}

/**
 * Parse folded text from a stream of chunks. Aggregates equal stacks; memory is O(unique stacks).
 * Stacks go into a StackTrie (typed arrays, no per-node object), and the frames a line shares with
 * the previous line (sorted folded files share long prefixes) are not parsed again.
 */
export async function parseFoldedStream(stream: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, name: string, warn?: (m: string) => void): Promise<Profile> {
  let started = false
  let two = false
  let lineNo = 0
  let badLines = 0
  let rest = ''
  const frames: Frame[] = []
  const frameCache = new Map<string, number>()
  const trie = new StackTrie(1 << 12)
  // One row per stack, in order of first appearance (the empty stack -1 included).
  let rowOfStack = new Int32Array(1 << 12).fill(-1)
  let rowOfEmpty = -1
  const sampleStack: number[] = []
  const v1s: number[] = []
  const v2s: number[] = []
  // The previous line's stack text and, per frame, where the frame ended and the stack id after it.
  let prevText = ''
  let segEnd = new Int32Array(64)
  let segStack = new Int32Array(64)
  let nseg = 0
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
    if (!started) {
      started = true
      two = m[3] !== undefined
    }
    const text = m[1]!
    const len = text.length
    // Reuse the deepest frame of the previous line whose text this line starts with.
    const lim = Math.min(len, prevText.length)
    let c = 0
    while (c < lim && text.charCodeAt(c) === prevText.charCodeAt(c)) c++
    let j = -1
    while (j + 1 < nseg) {
      const e = segEnd[j + 1]!
      if (e > c || (e < len && text.charCodeAt(e) !== 59)) break
      j++
    }
    let s = j >= 0 ? segStack[j]! : -1
    nseg = j + 1
    let start = j >= 0 ? segEnd[j]! + 1 : 0
    // Split on ';' (native indexOf) without allocating an array per line.
    let fresh = false
    while (start <= len) {
      let i = text.indexOf(';', start)
      if (i < 0) i = len
      if (i > start) {
        const fname = text.slice(start, i)
        let fid = frameCache.get(fname)
        if (fid === undefined) {
          fid = frames.length
          frames.push(Object.freeze({ name: fname, kind: kindOfFoldedFrame(fname) }))
          frameCache.set(fname, fid)
        }
        // Once a node had to be created, every deeper node on this line is new too.
        if (fresh) s = trie.append(s, fid)
        else {
          s = trie.child(s, fid)
          fresh = trie.created
        }
        if (nseg === segEnd.length) {
          const e2 = new Int32Array(nseg * 2)
          e2.set(segEnd)
          segEnd = e2
          const s2 = new Int32Array(nseg * 2)
          s2.set(segStack)
          segStack = s2
        }
        segEnd[nseg] = i
        segStack[nseg++] = s
      }
      start = i + 1
    }
    prevText = text
    const v1 = Number(m[2])
    const v2 = two && m[3] !== undefined ? Number(m[3]) : 0
    let row: number
    if (s < 0) row = rowOfEmpty
    else {
      if (s >= rowOfStack.length) {
        let n = rowOfStack.length
        while (n <= s) n *= 2
        const r2 = new Int32Array(n).fill(-1)
        r2.set(rowOfStack)
        rowOfStack = r2
      }
      row = rowOfStack[s]!
    }
    if (row >= 0) {
      // The same rule as a new row: a negative, NaN or infinite count adds nothing.
      if (Number.isFinite(v1) && v1 > 0) v1s[row]! += v1
      if (two && Number.isFinite(v2) && v2 > 0) v2s[row]! += v2
      return
    }
    row = sampleStack.length
    if (s < 0) rowOfEmpty = row
    else rowOfStack[s] = row
    sampleStack.push(s)
    v1s.push(Number.isFinite(v1) && v1 > 0 ? v1 : 0)
    if (two) v2s.push(Number.isFinite(v2) && v2 > 0 ? v2 : 0)
  }
  // Pieces of a line not yet ended; the search for '\n' only looks at new bytes, so input without
  // newlines stays linear (and is refused at 64 MiB instead of buffered).
  let pending: string[] = []
  let pendingLen = 0
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    let pos = 0
    for (;;) {
      const nl = text.indexOf('\n', pos)
      if (nl < 0) break
      if (pendingLen > 0) {
        pending.push(text.slice(pos, nl))
        handle(pending.join(''))
        pending = []
        pendingLen = 0
      } else handle(text.slice(pos, nl))
      pos = nl + 1
    }
    if (pos < text.length) {
      pending.push(text.slice(pos))
      pendingLen += text.length - pos
      if (pendingLen > 64 * 1024 * 1024) throw new MalformedInputError('folded', `${name}: a line longer than 64 MiB`)
    }
  }
  rest = pending.join('')
  if (rest !== '') handle(rest)
  if (badLines > 3) warn?.(`${name}: ${badLines} lines were not folded stacks and were skipped`)
  if (!started && badLines > 0) throw new MalformedInputError('folded', `${name}: no valid folded stack line`)
  // Counts that are each finite can still add up to Infinity (two lines of 1e308): every share
  // would print as 0.0% under a total of "Infinity" (found by the fuzzer).
  for (const col of two ? [v1s, v2s] : [v1s]) {
    let t = 0
    for (let i = 0; i < col.length; i++) t += col[i]!
    if (!Number.isFinite(t)) throw new MalformedInputError('folded', `${name}: the counts add up to more than a number can hold (${Number.MAX_VALUE.toExponential(1)})`)
  }
  const { stackFrame, stackParent } = trie.arrays()
  return {
    frames,
    stackFrame,
    stackParent,
    sampleStack: Int32Array.from(sampleStack),
    values: two ? [Float64Array.from(v1s), Float64Array.from(v2s)] : [Float64Array.from(v1s)],
    valueTypes: two ? [{ type: 'before', unit: 'count' }, { type: 'after', unit: 'count' }] : [{ type: 'samples', unit: 'count' }],
    defaultValue: two ? 1 : 0,
    meta: { name, sourceFormat: 'folded' },
  }
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
