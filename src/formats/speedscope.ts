// speedscope's own file format (https://www.speedscope.app/file-format-schema.json): a shared frame
// table and one or more profiles, each "sampled" (stacks + weights) or "evented" (open/close
// events on a timeline). Every profile in the file becomes one Profile.
//
// Sampled: one row per sample; with a time unit the row gets a timestamp (startValue + the weights
// before it, as speedscope lays out its time-order view). Evented: the open stack between two
// consecutive events becomes one row weighted by the time between them, timestamped at the first.
// An event that closes a frame which is not on top of the stack, or goes back in time, is an error,
// as in speedscope. Frames are taken as written (speedscope lines and columns are 1-based).
import { isUtf8 } from 'node:buffer'
import { ProfileBuilder } from '../model/builder.js'
import type { Frame, FrameKind, Profile, ValueType } from '../model/types.js'
import { MalformedInputError } from '../util/errors.js'
import { kindOfFoldedFrame } from './folded.js'
import { jsModuleOf } from './shared.js'
import type { ImportOptions, Importer } from './types.js'
import { sniffSpeedscope } from './detect.js'

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json'

const TIME_UNIT_NS: Record<string, number> = { nanoseconds: 1, microseconds: 1e3, milliseconds: 1e6, seconds: 1e9 }

export const speedscopeImporter: Importer = {
  id: 'speedscope',
  title: 'speedscope JSON (sampled and evented profiles)',
  sniff: sniffSpeedscope,
  async parse(input, options) {
    return parseSpeedscopeBuffer(await input.readAll(), input.name, options)
  },
}

export function parseSpeedscopeBuffer(buf: Buffer, name: string, options: ImportOptions = {}): Profile[] {
  if (buf.length === 0) throw new MalformedInputError('speedscope', `${name} is empty`)
  if (!isUtf8(buf)) options.warn?.(`${name}: invalid UTF-8; bad bytes replaced with U+FFFD`)
  let json: unknown
  try {
    json = JSON.parse(buf.toString('utf8'))
  } catch (e) {
    throw new MalformedInputError('speedscope', `${name}: not valid JSON (${(e as Error).message})`)
  }
  return parseSpeedscopeJson(json, name, options)
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

function kindOf(name: string, file: string | undefined): FrameKind {
  if (file && (/\.(m?[jt]sx?|cjs)$/.test(file) || file.startsWith('node:') || /^(file|https?|webpack):\/\//.test(file))) return 'js'
  return kindOfFoldedFrame(name)
}

export function parseSpeedscopeJson(json: unknown, fileName: string, options: ImportOptions = {}): Profile[] {
  const bad = (detail: string) => new MalformedInputError('speedscope', `${fileName}: ${detail}`)
  if (!isObj(json)) throw bad('not a JSON object')
  if (!isObj(json.shared) || !Array.isArray(json.shared.frames)) throw bad('missing shared.frames')
  if (!Array.isArray(json.profiles)) throw bad('missing profiles')
  const rawFrames = json.shared.frames
  const frames: Frame[] = rawFrames.map((f, i) => {
    if (!isObj(f) || typeof f.name !== 'string') throw bad(`shared.frames[${i}] has no name`)
    const file = typeof f.file === 'string' && f.file !== '' ? f.file : undefined
    const kind = kindOf(f.name, file)
    return {
      name: f.name,
      kind,
      ...(file ? { file } : {}),
      ...(typeof f.line === 'number' && Number.isFinite(f.line) ? { line: f.line } : {}),
      ...(typeof f.col === 'number' && Number.isFinite(f.col) ? { col: f.col } : {}),
      ...(file && kind === 'js' ? { module: file.startsWith('node:') ? file : jsModuleOf(file) } : {}),
    }
  })
  const out: Profile[] = []
  json.profiles.forEach((p, pi) => {
    if (!isObj(p)) throw bad(`profiles[${pi}] is not an object`)
    const unit = typeof p.unit === 'string' ? p.unit : 'none'
    const scale = TIME_UNIT_NS[unit]
    const pname = typeof p.name === 'string' && p.name !== '' ? p.name : `${fileName} #${pi + 1}`
    const startValue = typeof p.startValue === 'number' && Number.isFinite(p.startValue) ? p.startValue : 0
    const endValue = typeof p.endValue === 'number' && Number.isFinite(p.endValue) ? p.endValue : undefined
    const vt: ValueType = scale !== undefined ? { type: p.type === 'evented' ? 'wall' : 'cpu', unit: 'nanoseconds' } : unit === 'bytes' ? { type: 'space', unit: 'bytes' } : { type: 'samples', unit: 'count' }
    const toValue = (x: number) => (scale !== undefined ? x * scale : x)
    const b = new ProfileBuilder([vt], { name: pname, sourceFormat: 'speedscope' }, false)
    const frameIds = new Int32Array(frames.length).fill(-1)
    const frameId = (idx: unknown, where: string): number => {
      if (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0 || idx >= frames.length) throw bad(`${where}: frame index ${String(idx)} is not in shared.frames (${frames.length} frames)`)
      if (frameIds[idx] === -1) frameIds[idx] = b.internFrame(frames[idx]!)
      return frameIds[idx]!
    }
    if (p.type === 'sampled') {
      if (!Array.isArray(p.samples)) throw bad(`profiles[${pi}].samples is not an array`)
      const weights = p.weights
      if (weights !== undefined && (!Array.isArray(weights) || weights.length !== p.samples.length)) throw bad(`profiles[${pi}]: ${p.samples.length} samples but ${Array.isArray(weights) ? weights.length : 'no'} weights`)
      let t = 0
      p.samples.forEach((stack, si) => {
        if (!Array.isArray(stack)) throw bad(`profiles[${pi}].samples[${si}] is not an array`)
        let s = -1
        for (let k = 0; k < stack.length; k++) s = b.stackOf(s, frameId(stack[k], `profiles[${pi}].samples[${si}]`))
        const w = weights ? (weights as unknown[])[si] : 1
        if (typeof w !== 'number' || !Number.isFinite(w)) throw bad(`profiles[${pi}].weights[${si}] is not a number`)
        b.addSample(s, toValue(w), scale !== undefined ? toValue(t) : undefined)
        t += w
      })
    } else if (p.type === 'evented') {
      if (!Array.isArray(p.events)) throw bad(`profiles[${pi}].events is not an array`)
      const open: number[] = [] // shared-frame indexes on the stack
      const stacks: number[] = [] // stack id after each open
      let last = startValue
      let first = true
      p.events.forEach((e, ei) => {
        const where = `profiles[${pi}].events[${ei}]`
        if (!isObj(e) || typeof e.at !== 'number' || !Number.isFinite(e.at)) throw bad(`${where} has no numeric "at"`)
        if (first) { last = Math.min(last, e.at); first = false }
        if (e.at < last) throw bad(`${where} at ${e.at} comes before the previous event (${last}); events must be in time order`)
        if (e.at > last && open.length > 0) b.addSample(stacks[stacks.length - 1]!, toValue(e.at - last), scale !== undefined ? toValue(last - startValue) : undefined)
        last = e.at
        const fid = frameId(e.frame, where)
        if (e.type === 'O') {
          const parent = stacks.length ? stacks[stacks.length - 1]! : -1
          open.push(e.frame as number)
          stacks.push(b.stackOf(parent, fid))
        } else if (e.type === 'C') {
          const top = open[open.length - 1]
          if (top === undefined) throw bad(`${where} closes frame "${frames[e.frame as number]!.name}" but no frame is open (at ${e.at})`)
          if (top !== e.frame) throw bad(`${where} closes frame "${frames[e.frame as number]!.name}" while frame "${frames[top]!.name}" is on top (at ${e.at})`)
          open.pop()
          stacks.pop()
        } else {
          throw bad(`${where} has type ${JSON.stringify(e.type)}; expected "O" or "C"`)
        }
      })
      if (open.length > 0) {
        options.warn?.(`${fileName}: profile "${pname}" ends with ${open.length} frames still open; closed at endValue`)
        const end = endValue !== undefined && endValue > last ? endValue : last
        if (end > last) b.addSample(stacks[stacks.length - 1]!, toValue(end - last), scale !== undefined ? toValue(last - startValue) : undefined)
      }
    } else {
      throw bad(`profiles[${pi}] has type ${JSON.stringify(p.type)}; expected "sampled" or "evented"`)
    }
    if (scale !== undefined && endValue !== undefined && endValue > startValue) b.meta.durationNs = toValue(endValue - startValue)
    out.push(b.build())
  })
  if (out.length === 0) throw bad('the file holds no profiles')
  return out
}
