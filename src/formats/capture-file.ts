// meshprof capture files (`<name>-<pid>.capture.json`) and mesh summaries (`mesh.json`), written by
// `meshprof capture` / `meshprof run` (src/capture/output.ts; the format is docs/capture-format.md).
// A capture file points at its raw profile (cpuprofile, pprof or perf script text) in the same
// directory; the importer loads it through the registry's loader (ImportContext, so this module
// never imports the registry) and returns it with the capture's metadata (pid, command, back-end,
// window, CPU time, sampling period) and its network evidence.
// `mesh.json` yields one profile per listed capture. A capture whose target died before handing
// over its profile yields an empty profile that still carries the network evidence.
// A capture directory (its mesh.json, else every *.capture.json in it) is read by readDirectory:
// this is the one reader of capture directories, for every command.
import { dirname, join, basename, isAbsolute, normalize, sep } from 'node:path'
import type { ConnectEvent, NetworkEvidence, Profile, SocketSnapshot } from '../model/types.js'
import { ProfileBuilder } from '../model/builder.js'
import { mergeProfiles, threadProfiles, type ThreadPart } from '../model/ops.js'
import type { ThreadCpu } from '../model/threads.js'
import { MalformedInputError, MeshprofError } from '../util/errors.js'
import type { DirectoryListing, FormatId, ImportContext, ImportOptions, Importer, LoadOptions } from './types.js'
import { openInput, type InputSource } from './source.js'
import { parseGrowth } from './growth-evidence.js'
import { sniffCapture } from './detect.js'

const RAW_FORMATS: readonly FormatId[] = ['cpuprofile', 'pprof', 'perf-script']

type Json = Record<string, unknown>

function isObj(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/**
 * A file named by a capture or a mesh.json must sit in its directory or below: a relative path
 * (`a.cpuprofile`, `sub/a.capture.json`), nothing absolute, nothing that climbs out.
 */
export function insideDir(captureName: string, file: unknown, what: string): string {
  const rel = typeof file === 'string' ? normalize(file) : ''
  if (typeof file !== 'string' || file === '' || file.includes('\0') || isAbsolute(file) || rel === '.' || rel === '..' || rel.startsWith(`..${sep}`) || rel.endsWith(sep)) {
    throw new MalformedInputError('capture', `${captureName}: ${what} must be a file in the same directory or below it, got ${JSON.stringify(file)?.slice(0, 80)}`)
  }
  const dir = captureName === '-' ? '.' : dirname(captureName)
  return join(dir, rel)
}

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined
}

/** Stored network evidence -> the model's (initiator stack indexes expanded). */
export function parseNetwork(raw: unknown, name: string): NetworkEvidence | undefined {
  if (raw === undefined || raw === null) return undefined
  const bad = (d: string): never => { throw new MalformedInputError('capture', `${name}: network: ${d}`) }
  if (!isObj(raw)) bad('not an object')
  const n = raw as Json
  const stacks: string[][] = []
  if (n.stacks !== undefined) {
    if (!Array.isArray(n.stacks)) bad('stacks is not an array')
    for (const s of n.stacks as unknown[]) {
      if (!Array.isArray(s) || !s.every((f) => typeof f === 'string')) bad('a stack is not a list of frame names')
      stacks.push(s as string[])
    }
  }
  if (!Array.isArray(n.connects)) bad('connects is not an array')
  if (!Array.isArray(n.snapshots)) bad('snapshots is not an array')
  const connects: ConnectEvent[] = []
  for (const c of n.connects as unknown[]) {
    if (!isObj(c) || num(c.t) === undefined || typeof c.remote !== 'string') bad('a connect lacks t or remote')
    const e = c as Json
    let initiator: readonly string[] | undefined
    if (typeof e.initiator === 'number') {
      initiator = stacks[e.initiator]
      if (!initiator) bad(`connect initiator ${e.initiator} is not in the stack table`)
    } else if (Array.isArray(e.initiator)) {
      if (!e.initiator.every((f) => typeof f === 'string')) bad('an initiator is not a list of frame names')
      initiator = e.initiator as string[]
    }
    connects.push({
      t: e.t as number,
      remote: e.remote as string,
      tls: e.tls === true,
      ...(initiator ? { initiator } : {}),
      ...(typeof e.alreadyConnected === 'boolean' ? { alreadyConnected: e.alreadyConnected } : {}),
    })
  }
  const snapshots: SocketSnapshot[] = []
  for (const s of n.snapshots as unknown[]) {
    if (!isObj(s) || num(s.t) === undefined || !Array.isArray(s.remotes) || !s.remotes.every((r) => typeof r === 'string')) bad('a snapshot lacks t or remotes')
    snapshots.push({ t: (s as Json).t as number, remotes: (s as Json).remotes as string[] })
  }
  return {
    source: typeof n.source === 'string' ? n.source : 'capture',
    windowMs: num(n.windowMs) ?? 0,
    connects,
    snapshots,
    ...(num(n.droppedConnects) ? { droppedConnects: num(n.droppedConnects)! } : {}),
  }
}

function emptyProfile(): Profile {
  return new ProfileBuilder([{ type: 'samples', unit: 'count' }]).build()
}

async function loadCapture(json: Json, name: string, options: ImportOptions, ctx: ImportContext): Promise<Profile[]> {
  if (json.version !== 1) throw new MalformedInputError('capture', `${name}: unsupported capture version ${JSON.stringify(json.version)}`)
  const proc = json.process
  if (!isObj(proc) || num(proc.pid) === undefined) throw new MalformedInputError('capture', `${name}: missing process.pid`)
  const network = parseNetwork(json.network, name)
  const growth = parseGrowth(json.growth, name)
  const heapFile = isObj(json.heap) ? insideDir(name, json.heap.file, 'heap.file') : undefined
  let profiles: Profile[]
  let rawFormat: string | undefined
  const warnings: string[] = Array.isArray(json.warnings) ? json.warnings.filter((w): w is string => typeof w === 'string') : []
  if (json.profile !== undefined) {
    const prof = json.profile
    if (!isObj(prof) || !RAW_FORMATS.includes(prof.format as FormatId)) throw new MalformedInputError('capture', `${name}: profile.format must be one of ${RAW_FORMATS.join(', ')}`)
    const path = insideDir(name, prof.file, 'profile.file')
    rawFormat = prof.format as string
    try {
      profiles = (await ctx.load(path, { ...options, format: rawFormat })).profiles
    } catch (e) {
      if (e instanceof MeshprofError) throw new MeshprofError(`${name}: its profile ${basename(path)}: ${e.message.replace(`${path}: `, '')}`, e.exitCode, e.hint)
      throw e
    }
  } else {
    profiles = [emptyProfile()]
    options.warn?.(`${name}: the capture holds no CPU profile (${warnings[0] ?? 'partial capture'})`)
  }
  const workers = await loadWorkers(json.workers, name, options, ctx)
  if (workers.length) {
    const main = profiles.length === 1 ? profiles[0]! : mergeProfiles(profiles)
    profiles = [threadProfiles([{ name: MAIN_THREAD, profile: main }, ...workers], main.meta)]
  }
  const rate = num(proc.rateHz)
  const durationMs = num(proc.durationMs)
  const startMs = num(proc.startTimeMs)
  const threads = parseThreads(proc.threads, name)
  const nativeFile = isObj(json.native) ? insideDir(name, json.native.file, 'native.file') : undefined
  return profiles.map((p) => ({
    ...p,
    meta: {
      ...p.meta,
      name: typeof proc.name === 'string' ? proc.name : p.meta.name,
      pid: proc.pid as number,
      ...(typeof proc.command === 'string' ? { command: proc.command } : {}),
      ...(typeof proc.backend === 'string' ? { backend: proc.backend } : {}),
      ...(durationMs !== undefined ? { durationNs: durationMs * 1e6 } : {}),
      ...(rate ? { periodNs: 1e9 / rate } : {}),
      ...(startMs !== undefined ? { startTimeNs: startMs * 1e6 } : {}),
      ...(num(proc.cpuTimeNs) !== undefined ? { cpuTimeNs: num(proc.cpuTimeNs)! } : {}),
      ...(proc.eventLoopBlocked === true ? { eventLoopBlocked: true } : {}),
      ...(threads ? { threads } : {}),
      sourceFormat: p.meta.sourceFormat ?? rawFormat ?? 'capture',
      extra: {
        ...(p.meta.extra ?? {}),
        capture: name,
        partial: proc.partial === true,
        ...(rawFormat ? { rawFormat } : {}),
        ...(nativeFile ? { nativeFile } : {}),
        ...(heapFile ? { heapFile } : {}),
        ...(warnings.length ? { warnings } : {}),
      },
    },
    ...(network ? { network } : {}),
    ...(growth ? { growth } : {}),
  }))
}

/** The root frame of the main thread's stacks in a capture with worker threads. */
const MAIN_THREAD = '[main]'

/** A worker thread's root frame: Node's own title for it, `[worker 1] hasher`. */
function workerThreadName(threadId: number, name: string): string {
  return `[worker ${threadId}]${name ? ` ${name}` : ''}`
}

/** The worker threads' profiles of a capture (docs/capture-format.md `workers`). */
async function loadWorkers(x: unknown, name: string, options: ImportOptions, ctx: ImportContext): Promise<ThreadPart[]> {
  if (x === undefined) return []
  if (!Array.isArray(x)) throw new MalformedInputError('capture', `${name}: workers must be a list`)
  const out: ThreadPart[] = []
  for (const [i, w] of x.entries()) {
    if (!isObj(w) || num(w.threadId) === undefined || typeof w.name !== 'string' || (w.startMs !== undefined && !(num(w.startMs)! >= 0))) {
      throw new MalformedInputError('capture', `${name}: workers[${i}] needs threadId, name and startMs >= 0`)
    }
    if (w.profile === undefined) continue // seen, not profiled: its warning says why
    if (!isObj(w.profile) || w.profile.format !== 'cpuprofile') throw new MalformedInputError('capture', `${name}: workers[${i}].profile.format must be cpuprofile`)
    const path = insideDir(name, w.profile.file, `workers[${i}].profile.file`)
    let ps: Profile[]
    try {
      ps = (await ctx.load(path, { ...options, format: 'cpuprofile' })).profiles
    } catch (e) {
      if (e instanceof MeshprofError) throw new MeshprofError(`${name}: its worker profile ${basename(path)}: ${e.message.replace(`${path}: `, '')}`, e.exitCode, e.hint)
      throw e
    }
    out.push({ name: workerThreadName(num(w.threadId)!, w.name), profile: ps.length === 1 ? ps[0]! : mergeProfiles(ps), startNs: (num(w.startMs) ?? 0) * 1e6 })
  }
  return out
}

function parseThreads(x: unknown, name: string): ThreadCpu[] | undefined {
  if (x === undefined) return undefined
  if (!Array.isArray(x)) throw new MalformedInputError('capture', `${name}: process.threads must be a list`)
  return x.map((t, i) => {
    if (!isObj(t) || num(t.tid) === undefined || num(t.cpuNs) === undefined || num(t.cpuNs)! < 0 || typeof t.name !== 'string' || typeof t.profiled !== 'boolean') {
      throw new MalformedInputError('capture', `${name}: process.threads[${i}] needs tid, name, cpuNs >= 0 and profiled`)
    }
    return { tid: num(t.tid)!, name: t.name, cpuNs: num(t.cpuNs)!, profiled: t.profiled }
  })
}

async function loadMesh(json: Json, name: string, options: ImportOptions, ctx: ImportContext): Promise<Profile[]> {
  if (json.version !== 1) throw new MalformedInputError('capture', `${name}: unsupported mesh-capture version ${JSON.stringify(json.version)}`)
  if (!Array.isArray(json.captures) || json.captures.length === 0) throw new MalformedInputError('capture', `${name}: captures must be a non-empty list`)
  const out: Profile[] = []
  for (const c of json.captures) {
    const path = insideDir(name, c, 'a mesh capture entry')
    const input = await openInput(path)
    const sub = parseJson(await input.readAll(), path)
    if (sub.meshprof !== 'capture') throw new MalformedInputError('capture', `${path}: not a capture file`)
    out.push(...(await loadCapture(sub, path, options, ctx)))
  }
  return out
}

function parseJson(buf: Buffer, name: string): Json {
  let j: unknown
  try {
    j = JSON.parse(buf.toString('utf8'))
  } catch (e) {
    throw new MalformedInputError('capture', `${name}: invalid JSON: ${(e as Error).message}`)
  }
  if (!isObj(j)) throw new MalformedInputError('capture', `${name}: not a JSON object`)
  return j
}

export const captureImporter: Importer = {
  id: 'capture',
  title: 'meshprof capture file',
  sniff: sniffCapture,
  async parse(input: InputSource, options: ImportOptions, ctx?: ImportContext) {
    if (!ctx) throw new Error('the capture importer reads its raw profile through the loader: call it through loadProfiles')
    const json = parseJson(await input.readAll(), input.name)
    if (json.meshprof === 'capture') return loadCapture(json, input.name, options, ctx)
    if (json.meshprof === 'mesh-capture') return loadMesh(json, input.name, options, ctx)
    throw new MalformedInputError('capture', `${input.name}: "meshprof" must be "capture" or "mesh-capture"`)
  },
  async readDirectory(dir: DirectoryListing, options: LoadOptions, ctx: ImportContext) {
    const files = dir.names.includes('mesh.json') ? ['mesh.json'] : dir.names.filter((n) => n.endsWith('.capture.json'))
    if (files.length === 0) return undefined
    const out: Profile[] = []
    for (const f of files) out.push(...(await ctx.load(join(dir.path, f), { ...options, format: 'capture' })).profiles)
    return out
  },
}
