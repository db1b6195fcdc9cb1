// V8 tick profiles: `node --prof` logs (`isolate-<addr>-<pid>-v8.log`), the same log preprocessed to
// JSON (`node --prof-process --preprocess`, what 0x stores as `isolate-…-v8.log.json`), and a whole
// `<pid>.0x/` folder (the JSON if present, else the log, plus meta.json's command line).
//
// The JSON is written by JsonProfile in V8's tools/profile.mjs (Node: deps/v8/tools/profile.mjs,
// `JsonProfile.prototype.writeJson`):
//   { "code": [{ name, type: 'SHARED_LIB'|'CPP'|'CODE'|'JS', kind?, func?, tm?, source? }...],
//     "functions": [...], "ticks": [{ tm, vm, s }...], "scripts": [...] }
// - a tick's `s` is pairs, leaf (the pc) first: [codeId, offset] for an address inside code entry
//   `codeId`, or [-1, address] when nothing contains it (`JsonProfile.prototype.recordTick`);
// - `tm` is the log's tick time, microseconds since the log started;
// - `vm` is V8's StateTag (Profile.VMState in profile.mjs): 0 JS, 1 GC, ..., 7 IDLE in current V8;
// - JS names are "<function> <url>:<line>:<column>" (an anonymous function: an empty function name);
//   CODE entries carry `kind` (Builtin, BytecodeHandler, RegExp, ...); CPP names come from `nm -C`.
// Like 0x (lib/v8-log-to-ticks.js: `addr.map((n) => codes[n]).filter(Boolean)`), unresolved
// addresses are dropped from the stack, so their time stays with the resolved caller, as V8's CPU
// profiler (`--cpu-prof`) attributes native time to the JavaScript function that called it.
//
// A raw log goes through the `node` running meshprof (`--prof-process --preprocess`): there is no
// second log parser here. Logs from another V8 are processed when that node can; when it cannot,
// or the log is truncated, the user gets one line and exit 4.
import { spawn } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import type { Frame, Profile } from '../model/types.js'
import { ProfileBuilder } from '../model/builder.js'
import { MalformedInputError } from '../util/errors.js'
import { MAX_IN_MEMORY, openInput, type InputSource } from './source.js'
import { jsModuleOf } from './shared.js'
import { VERSION_NOTE, looksLikeJson, looksLikeLog, sniffV8Prof } from './detect.js'
import type { DirectoryListing, ImportContext, ImportOptions, Importer, LoadOptions } from './types.js'

/** V8 StateTag values that are the same in every V8 version meshprof has met. */
const VM_GC = 1
/** IDLE is 7 since PARSER / BYTECODE_COMPILER were inserted; older logs used other numbers. */
const VM_IDLE = 7
/** Sampling interval of `--prof` unless `--prof-sampling-interval` changed it (V8 flag default). */
const DEFAULT_PERIOD_NS = 1e6

/** Upper bound on `node --prof-process`: MESHPROF_PROF_PROCESS_TIMEOUT_MS, else 120 s + 2 s per MB. */
function preprocessTimeoutMs(bytes: number): number {
  const env = Number(process.env.MESHPROF_PROF_PROCESS_TIMEOUT_MS)
  if (Number.isFinite(env) && env > 0) return env
  return 120_000 + Math.ceil(bytes / 1048576) * 2000
}

type Json = Record<string, unknown>
interface CodeEntry { name?: unknown; type?: unknown; kind?: unknown }
interface Tick { tm?: unknown; vm?: unknown; s?: unknown }

/** Old V8 logs quoted names; Node's current log reader keeps the quotes. */
function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s
}

const JS_LOCATION = /^(.*) (\S*?):(\d+)(?::(\d+))?$/

/** The model's frame for one code entry. */
export function frameOfCode(c: CodeEntry): Frame {
  const name = unquote(typeof c.name === 'string' ? c.name : '')
  const kind = typeof c.kind === 'string' ? c.kind : ''
  switch (c.type) {
    case 'JS': {
      // The function name has no spaces except getters / setters ("get x"): the location is the last word.
      const m = JS_LOCATION.exec(name)
      const fn = (m ? m[1]! : name).replace(/^[~*^+]/, '') || '(anonymous)'
      if (!m) return { name: fn, kind: 'native' } // no script: a builtin written in JS
      const url = m[2]!
      return {
        name: fn,
        kind: 'js',
        ...(url ? { file: url, module: url.startsWith('node:') ? url : jsModuleOf(url) } : {}),
        line: Number(m[3]),
        ...(m[4] !== undefined ? { col: Number(m[4]) } : {}),
      }
    }
    case 'CPP':
      // nm's symbol version suffix (`fwrite@@GLIBC_2.2.5`) is not part of the function's name.
      return { name: name.replace(/@@?[A-Za-z_]+[\w.]*$/, '') || '[unknown]', kind: 'native' }
    case 'SHARED_LIB':
      return { name: `[${basename(name) || 'unknown'}]`, kind: 'native', module: name }
    default:
      // CODE: builtins, bytecode handlers, stubs, regexps; named as `node --prof-process` prints them.
      return { name: kind && kind !== 'Builtin' ? `${kind}: ${name}` : name || '[unknown]', kind: 'native', module: 'v8' }
  }
}

export interface V8TickOptions {
  /** The input as the user named it (errors); the profile is named by its base name. */
  name: string
  /** The log's V8 major version when known: StateTag numbers before V8 7 differ, so IDLE is not read. */
  v8Major?: number
}

/** Build a profile from the preprocessed JSON (already parsed). */
export function profileFromTicks(json: unknown, opts: V8TickOptions): Profile {
  const bad = (d: string): never => { throw new MalformedInputError('v8-prof', `${opts.name}: ${d}`) }
  if (typeof json !== 'object' || json === null) bad('not a JSON object')
  const j = json as Json
  if (!Array.isArray(j.code)) bad('"code" is not a list')
  if (!Array.isArray(j.ticks)) bad('"ticks" is not a list')
  const code = j.code as CodeEntry[]
  const ticks = j.ticks as Tick[]
  if (ticks.length === 0) bad('holds no ticks (was the process run with --prof, and did it run long enough to be sampled?)')
  const idleKnown = opts.v8Major === undefined || opts.v8Major >= 7
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }], { name: basename(opts.name) }, false)
  const frameIds = new Int32Array(code.length).fill(-1)
  const frameOf = (id: number): number => {
    let f = frameIds[id]!
    if (f < 0) {
      const c = code[id]
      f = b.internFrame(typeof c === 'object' && c !== null ? frameOfCode(c) : { name: '[unknown]', kind: 'native' })
      frameIds[id] = f
    }
    return f
  }
  // Interned when first used, so a profile lists only frames its stacks have.
  const gc = () => b.internFrame({ name: '(garbage collector)', kind: 'gc' })
  const idle = () => b.internFrame({ name: '(idle)', kind: 'idle' })
  const program = () => b.internFrame({ name: '(program)', kind: 'program' })
  const stack: number[] = []
  let first = Infinity
  let last = -Infinity
  const deltas: number[] = []
  let dropped = 0
  for (const [i, t] of ticks.entries()) {
    if (typeof t !== 'object' || t === null || !Array.isArray(t.s) || typeof t.tm !== 'number') bad(`tick ${i} lacks tm or s`)
    const s = t.s as unknown[]
    stack.length = 0
    // Leaf first in the file; the builder wants root first.
    for (let k = s.length - 2; k >= 0; k -= 2) {
      const id = s[k]
      if (typeof id !== 'number' || !Number.isInteger(id) || id >= code.length) bad(`tick ${i} names code entry ${String(id)}, which does not exist`)
      if ((id as number) < 0) dropped++
      else stack.push(frameOf(id as number))
    }
    // GC is a leaf on the stack that triggered it; a tick with no resolvable frame is V8's "(program)".
    if (t.vm === VM_GC) stack.push(gc())
    else if (t.vm === VM_IDLE && idleKnown && stack.length === 0) stack.push(idle())
    else if (stack.length === 0) stack.push(program())
    const tm = t.tm as number
    if (tm > last && last > -Infinity) deltas.push(tm - last)
    first = Math.min(first, tm)
    last = Math.max(last, tm)
    b.addSample(b.stackFromFrames(stack), 1, (tm - first) * 1000)
  }
  deltas.sort((x, y) => x - y)
  const periodNs = deltas.length ? deltas[deltas.length >> 1]! * 1000 : DEFAULT_PERIOD_NS
  b.meta = {
    ...b.meta,
    periodNs,
    durationNs: (last - first) * 1000 + periodNs,
    extra: { ticks: ticks.length, unresolvedFramesDropped: dropped },
  }
  return b.build()
}

/** Parse the preprocessed JSON text (with Node's version note before it, as 0x stores it then). */
function parsePreprocessed(buf: Buffer, name: string, warn?: (m: string) => void): unknown {
  let text = buf.toString('utf8')
  const brace = text.indexOf('{')
  if (brace < 0) throw new MalformedInputError('v8-prof', `${name}: no JSON object in it`)
  if (text.slice(0, brace).includes(VERSION_NOTE)) warn?.(`${name}: written from a log of another V8 version than this node's (${process.versions.v8}); names and states may be approximate`)
  text = text.slice(brace)
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new MalformedInputError('v8-prof', `${name}: invalid preprocessed JSON (truncated?): ${(e as Error).message}`)
  }
}

interface Run { code: number | null; stdout: Buffer; stderr: string; timedOut: boolean; tooBig: boolean }

function runPreprocess(file: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Warnings stay on: Node reports a truncated log only as a BROKEN_PROFILE_FILE warning.
    const child = spawn(process.execPath, ['--prof-process', '--preprocess', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let outBytes = 0
    let err = ''
    let timedOut = false
    let tooBig = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.stdout.on('data', (c: Buffer) => {
      outBytes += c.length
      if (outBytes > MAX_IN_MEMORY) { tooBig = true; child.kill('SIGKILL'); return }
      out.push(c)
    })
    child.stderr.on('data', (c: Buffer) => { if (err.length < 65536) err += c.toString('utf8') })
    child.on('error', (e) => { clearTimeout(timer); reject(e) })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout: Buffer.concat(out), stderr: err, timedOut, tooBig })
    })
  })
}

/** "6.0.287.53" from the log's first line, when it has one. */
function logV8Version(text: string): string | undefined {
  const m = /^v8-version,(\d+),(\d+),(\d+),(\d+)/.exec(text)
  return m ? `${m[1]}.${m[2]}.${m[3]}.${m[4]}` : undefined
}

/** A raw `--prof` log, through this node's `--prof-process --preprocess`. */
async function importLog(input: InputSource, text: string, options: ImportOptions): Promise<Profile> {
  const logV8 = logV8Version(text)
  const ours = process.versions.v8
  const versions = `the log is from V8 ${logV8 ?? '(unknown)'}, this node ${process.version} has V8 ${ours}`
  let file = input.path && !input.gzipped ? input.path : undefined
  let tmp: string | undefined
  if (!file) {
    // stdin or gzipped: --prof-process reads a file by name.
    tmp = await fsp.mkdtemp(join(tmpdir(), 'meshprof-v8log-'))
    file = join(tmp, 'isolate.log')
    await fsp.writeFile(file, await input.readAll())
  }
  try {
    const timeoutMs = preprocessTimeoutMs(input.size)
    const r = await runPreprocess(file, timeoutMs)
    const fail = (why: string): never => { throw new MalformedInputError('v8-prof', `${input.name}: node --prof-process ${why}`) }
    if (r.timedOut) fail(`did not finish within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`} (set MESHPROF_PROF_PROCESS_TIMEOUT_MS to allow more)`)
    if (r.tooBig) fail(`wrote more than ${Math.round(MAX_IN_MEMORY / 1048576)} MiB of JSON for this log`)
    if (/BROKEN_PROFILE_FILE|is broken/.test(r.stderr)) fail('says the log is broken: it is truncated or corrupt')
    const errLine = r.stderr.split('\n').map((l) => l.trim()).find((l) => l && !/ExperimentalWarning|--trace-warnings/.test(l))
    if (r.code !== 0) fail(`could not read this log (${versions})${errLine ? `: ${errLine.slice(0, 200)}` : ''}`)
    let json: unknown
    try {
      json = parsePreprocessed(r.stdout, input.name) // the version note is reported below, once
    } catch {
      fail(`could not read this log (${versions}): its output is not the preprocessed JSON`)
    }
    const major = logV8 ? Number(logV8.split('.')[0]) : undefined
    if (logV8 && major !== Number(ours.split('.')[0])) options.warn?.(`${input.name}: ${versions}; processed anyway, names and VM states may be approximate`)
    const p = profileFromTicks(json, { name: input.name, v8Major: major })
    return { ...p, meta: { ...p.meta, extra: { ...p.meta.extra, ...(logV8 ? { v8Version: logV8 } : {}) } } }
  } finally {
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {})
  }
}

/** 0x's meta.json: the arguments it was run with (0x index.js writes `{ ...args, inlined }`). */
interface ZeroXMeta { argv?: unknown; title?: unknown; pid?: unknown; workingDir?: unknown; pathToNodeBinary?: unknown }

function isZeroXMeta(text: string): boolean {
  return text.trimStart().startsWith('{') && /"pathToNodeBinary"\s*:/.test(text) && /"argv"\s*:/.test(text)
}

/** Folder members by isolate: `isolate-…-v8.log` plus its `.json` / `.preprocess-ready` siblings. */
function isolateKey(name: string): string {
  return name.replace(/\.(json|preprocess-ready)$/, '')
}

async function readZeroXFolder(dir: DirectoryListing, options: LoadOptions, ctx: ImportContext): Promise<Profile[] | undefined> {
  const json = new Map<string, string>()
  const logs = new Map<string, string>()
  let meta: ZeroXMeta | undefined
  let metaText: string | undefined
  for (const name of dir.names) {
    const h = await dir.head(name)
    if (!h) continue
    if (looksLikeJson(h.text)) json.set(isolateKey(name), name)
    else if (looksLikeLog(h.text)) {
      // The log itself wins over 0x's filtered copy (`.preprocess-ready`).
      const key = isolateKey(name)
      if (!logs.has(key) || name === key) logs.set(key, name)
    } else if (name === 'meta.json' && isZeroXMeta(h.text)) metaText = h.text
  }
  if (metaText !== undefined) {
    try {
      // Whole file: 0x stores its inlining map there too, which can outgrow the sniffed head.
      meta = JSON.parse((await (await openInput(join(dir.path, 'meta.json'))).readAll()).toString('utf8')) as ZeroXMeta
    } catch {
      meta = undefined // the command line is a nicety: a broken meta.json does not stop the profile
    }
  }
  const keys = [...new Set([...json.keys(), ...logs.keys()])].sort()
  if (keys.length === 0) {
    if (metaText !== undefined || dir.names.includes('flamegraph.html') && /\.0x$/.test(dir.path.replace(/\/+$/, ''))) {
      throw new MalformedInputError('v8-prof', `${dir.path}: 0x folder holds neither the preprocessed JSON (isolate-*-v8.log.json) nor the V8 log (isolate-*-v8.log)`)
    }
    return undefined
  }
  const out: Profile[] = []
  for (const key of keys) {
    const file = json.get(key) ?? logs.get(key)!
    const path = join(dir.path, file)
    const { profiles } = await ctx.load(path, { ...options, format: 'v8-prof' })
    for (const p of profiles) out.push(withZeroXMeta(p, meta, path, keys.length > 1 ? key : undefined))
  }
  return out
}

function withZeroXMeta(p: Profile, meta: ZeroXMeta | undefined, file: string, isolate: string | undefined): Profile {
  const argv = Array.isArray(meta?.argv) && meta!.argv.every((a) => typeof a === 'string') ? (meta!.argv as string[]) : undefined
  const command = typeof meta?.title === 'string' ? meta.title : argv ? `node ${argv.join(' ')}` : undefined
  const pid = typeof meta?.pid === 'number' ? meta.pid : undefined
  return {
    ...p,
    meta: {
      ...p.meta,
      name: isolate ?? (argv?.[0] ? basename(argv[0]) : p.meta.name),
      ...(command ? { command } : {}),
      ...(pid !== undefined ? { pid } : {}),
      extra: { ...p.meta.extra, file, ...(typeof meta?.workingDir === 'string' ? { workingDir: meta.workingDir } : {}) },
    },
  }
}

export const v8ProfImporter: Importer = {
  id: 'v8-prof',
  title: 'V8 tick log (node --prof, 0x) or its --preprocess JSON',
  sniff: sniffV8Prof,
  async parse(input, options) {
    const text = input.head.toString('utf8')
    if (looksLikeLog(text)) return [await importLog(input, text, options)]
    const json = parsePreprocessed(await input.readAll(), input.name, options.warn)
    return [profileFromTicks(json, { name: input.name })]
  },
  readDirectory: readZeroXFolder,
}
