import type { Frame, FrameKind, NetworkEvidence, Profile, ProfileMeta, ValueType } from './types.js'
import { LabelColumnsBuilder, type LabelSet } from './labels.js'

/** Frames are interned by this key: two frames with equal key are one frame. */
export function frameKey(f: Frame): string {
  return `${f.name}\u0000${f.file ?? ''}\u0000${f.line ?? ''}\u0000${f.col ?? ''}\u0000${f.module ?? ''}\u0000${f.kind}`
}

/**
 * Builds a Profile: intern frames, append stacks, then build(). Importers that meet samples one at a
 * time use it (perf script, speedscope, capture, v8-prof); the bulk importers (pprof, cpuprofile,
 * folded) fill the Profile's typed arrays directly through formats/stack-trie.ts, for speed. Either
 * way, every importer's output must pass validateProfile: test/formats/invariants.test.ts checks it
 * for each importer in the registry.
 * With `aggregate` (the default when no timestamps/labels are given) rows with the same stack are
 * summed, so a 1 GB perf file becomes one row per unique stack.
 */
export class ProfileBuilder {
  private frames: Frame[] = []
  private frameIndex = new Map<string, number>()
  private stackFrame: number[] = []
  private stackParent: number[] = []
  /** children[parent+1]: frame -> stack id. Index 0 holds the roots. */
  private children: Map<number, number>[] = [new Map()]
  private sampleStack: number[] = []
  private values: number[][]
  private times: number[] | undefined
  private labels: LabelColumnsBuilder | undefined
  private rowOfStack = new Map<number, number>()
  readonly valueTypes: ValueType[]
  meta: ProfileMeta
  network?: NetworkEvidence
  defaultValue = 0

  constructor(valueTypes: ValueType[], meta: ProfileMeta = {}, private readonly aggregate = true) {
    if (valueTypes.length === 0) throw new Error('a profile needs at least one value type')
    this.valueTypes = valueTypes
    this.values = valueTypes.map(() => [])
    this.meta = meta
  }

  internFrame(f: Frame): number {
    const key = frameKey(f)
    let id = this.frameIndex.get(key)
    if (id === undefined) {
      id = this.frames.length
      this.frames.push(Object.freeze({ ...f }))
      this.frameIndex.set(key, id)
    }
    return id
  }

  /** Shortcut for the common case of a frame known only by name. */
  internName(name: string, kind: FrameKind = 'unknown', module?: string): number {
    return this.internFrame(module === undefined ? { name, kind } : { name, kind, module })
  }

  /** Stack id for `frame` called from stack `parent` (-1 = root). */
  stackOf(parent: number, frame: number): number {
    const m = this.children[parent + 1]!
    let id = m.get(frame)
    if (id === undefined) {
      id = this.stackFrame.length
      this.stackFrame.push(frame)
      this.stackParent.push(parent)
      this.children.push(new Map())
      m.set(frame, id)
    }
    return id
  }

  /** Stack id for a list of frame ids, root first. Iterative: 50,000-deep stacks are fine. */
  stackFromFrames(frameIds: ArrayLike<number>): number {
    let s = -1
    for (let i = 0; i < frameIds.length; i++) s = this.stackOf(s, frameIds[i]!)
    return s
  }

  /** Append one sample row. `stack` may be -1 (an empty stack: the weight counts in totals only). */
  addSample(stack: number, values: number | ArrayLike<number>, time?: number, labels?: LabelSet): void {
    const vals = typeof values === 'number' ? [values] : values
    if (this.aggregate && time === undefined && labels === undefined) {
      const row = this.rowOfStack.get(stack)
      if (row !== undefined) {
        for (let v = 0; v < this.values.length; v++) this.values[v]![row]! += vals[v] ?? 0
        return
      }
      this.rowOfStack.set(stack, this.sampleStack.length)
    }
    if (time !== undefined) {
      if (this.times === undefined) this.times = new Array(this.sampleStack.length).fill(0)
    }
    if (this.times !== undefined) this.times.push(time ?? 0)
    if (labels !== undefined && this.labels === undefined) {
      this.labels = new LabelColumnsBuilder()
      this.labels.addEmptyRows(this.sampleStack.length)
    }
    if (this.labels !== undefined) {
      this.labels.addRow()
      if (labels) this.labels.setAll(labels)
    }
    this.sampleStack.push(stack)
    for (let v = 0; v < this.values.length; v++) {
      const x = vals[v] ?? 0
      this.values[v]!.push(Number.isFinite(x) && x > 0 ? x : 0)
    }
  }

  get sampleCount(): number {
    return this.sampleStack.length
  }

  build(): Profile {
    const p: Profile = {
      frames: this.frames,
      stackFrame: Int32Array.from(this.stackFrame),
      stackParent: Int32Array.from(this.stackParent),
      sampleStack: Int32Array.from(this.sampleStack),
      values: this.values.map((col) => Float64Array.from(col)),
      valueTypes: this.valueTypes,
      defaultValue: Math.min(this.defaultValue, this.valueTypes.length - 1),
      meta: this.meta,
      ...(this.times ? { times: Float64Array.from(this.times) } : {}),
      ...(this.labels ? { labels: this.labels.build() } : {}),
      ...(this.network ? { network: this.network } : {}),
    }
    return p
  }
}

/** Frames of a stack, root first. Iterative. */
export function stackFrames(p: Profile, stack: number): number[] {
  const out: number[] = []
  for (let s = stack; s >= 0; s = p.stackParent[s]!) out.push(p.stackFrame[s]!)
  return out.reverse()
}

/** Depth of every stack (root stack = 1). prefix < index lets one forward pass do it. */
export function stackDepths(p: Profile): Int32Array {
  const d = new Int32Array(p.stackFrame.length)
  for (let i = 0; i < d.length; i++) {
    const par = p.stackParent[i]!
    d[i] = par < 0 ? 1 : d[par]! + 1
  }
  return d
}

export function validateProfile(p: Profile): string[] {
  const errors: string[] = []
  const n = p.stackFrame.length
  if (p.stackParent.length !== n) errors.push('stackParent and stackFrame differ in length')
  for (let i = 0; i < n; i++) {
    if (p.stackParent[i]! >= i) { errors.push(`stack ${i} has parent ${p.stackParent[i]} >= itself`); break }
    if (p.stackFrame[i]! < 0 || p.stackFrame[i]! >= p.frames.length) { errors.push(`stack ${i} names no frame`); break }
  }
  for (const [v, col] of p.values.entries()) {
    if (col.length !== p.sampleStack.length) errors.push(`value column ${v} has ${col.length} rows, want ${p.sampleStack.length}`)
    for (const x of col) if (!(x >= 0) || !Number.isFinite(x)) { errors.push(`value column ${v} holds ${x}`); break }
  }
  if (p.times && p.times.length !== p.sampleStack.length) errors.push('times length differs from samples')
  if (p.labels && p.labels.length !== p.sampleStack.length) errors.push('labels length differs from samples')
  return errors
}
