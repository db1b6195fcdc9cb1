// Per-stack two-column diff, the data FlameGraph's difffolded.pl and inferno's diff-folded produce:
// `root;child;leaf BEFORE AFTER`, one line per stack seen on either side. flamegraph.pl and inferno
// colour a differential flamegraph from exactly these lines, so `meshprof diff --difffolded` can feed
// them directly.
//
// Matches difffolded.pl @ 41fee1f99f92 (checked against the corpus, ../shared/corpus/diff):
// - stacks are keyed by frame names only (a folded line has nothing else);
// - `stripHex` (-s) replaces every `0x[0-9a-fA-F]+` by `0x...` before keying, so stacks that differ
//   only in addresses merge;
// - `normalize` (-n) scales each BEFORE count by totalAfter / totalBefore and truncates to an integer
//   (Perl `int()`), after aggregation;
// - lines are sorted by stack text (the corpus sorts difffolded.pl's hash-order output with LC_ALL=C).
import type { Profile } from '../model/types.js'
import { weightedStacks } from '../model/ops.js'
import { foldedFrameName } from '../formats/folded.js'
import { stripHexText } from './index.js'

export interface StackDiffOptions {
  /** difffolded.pl -s. Default false. */
  stripHex?: boolean
  /** difffolded.pl -n. Default false. */
  normalize?: boolean
}

export interface StackDiffLine {
  /** Frame names root first, joined by ';'. */
  stack: string
  before: number
  after: number
}

function foldedCounts(p: Profile, stripHex: boolean): Map<string, number> {
  const names = p.frames.map((f) => {
    const n = foldedFrameName(f.name)
    return stripHex ? stripHexText(n) : n
  })
  const m = new Map<string, number>()
  for (const { frames, weight } of weightedStacks(p)) {
    const key = frames.map((f) => names[f]).join(';')
    m.set(key, (m.get(key) ?? 0) + weight)
  }
  return m
}

export function stackDiff(before: Profile, after: Profile, opts: StackDiffOptions = {}): StackDiffLine[] {
  const b = foldedCounts(before, opts.stripHex ?? false)
  const a = foldedCounts(after, opts.stripHex ?? false)
  let tb = 0
  let ta = 0
  for (const v of b.values()) tb += v
  for (const v of a.values()) ta += v
  const keys = [...new Set([...b.keys(), ...a.keys()])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
  return keys.map((stack) => {
    let before = b.get(stack) ?? 0
    // Same expression order as difffolded.pl: int($count * $total2 / $total1).
    if (opts.normalize && tb !== ta && tb > 0) before = Math.trunc((before * ta) / tb)
    return { stack, before, after: a.get(stack) ?? 0 }
  })
}

function num(w: number): string {
  return Number.isInteger(w) ? String(w) : String(Number(w.toFixed(6)))
}

/** difffolded text: `stack before after\n` per line. */
export function toDiffFolded(lines: readonly StackDiffLine[]): string {
  return lines.map((l) => `${l.stack} ${num(l.before)} ${num(l.after)}\n`).join('')
}
