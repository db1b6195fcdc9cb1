// Writing one capture: the raw profile first (cpuprofile / pprof / perf script text), then the
// capture file that points at it, then a pprof copy. Everything atomic (temp + rename).
import { promises as fsp, existsSync } from 'node:fs'
import { join, basename, dirname } from 'node:path'
import { EXIT, MeshprofError } from '../util/errors.js'
import type { NetworkEvidence } from '../model/types.js'
import { unprofiledCpu, type ThreadCpu } from '../model/threads.js'
import type { ProbeConnection } from './channel.js'
import type { ProcessInfo } from './proc.js'
import { perfScript, type PerfRecording } from './perf.js'
import type { Backend, CaptureFile, CaptureWorker, MeshFile, StoredNetwork } from './types.js'
import type { ProcMemorySampler } from './procmem.js'

export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
  try {
    await fsp.writeFile(tmp, data)
    await fsp.rename(tmp, path)
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => {})
    throw new MeshprofError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message}`, EXIT.IO)
  }
}

export interface WriteInput {
  dir: string
  info: ProcessInfo
  name: string
  backend: Backend
  rateHz: number
  startEpochMs: number
  stopEpochMs: number
  conn?: ProbeConnection
  /** The probe's event loop never turned in the window (its data came through the inspector). */
  eventLoopBlocked?: boolean
  perf?: PerfRecording
  nativePerf?: PerfRecording
  network?: NetworkEvidence
  memory?: ProcMemorySampler
  cpuTimeNs?: number
  /** CPU per thread over the window (/proc/<pid>/task). */
  threads?: ThreadCpu[]
  exitedMidWindow?: string
  interrupted: boolean
  warnings: string[]
}

export interface WrittenCapture {
  captureFile: string
  profileFile?: string
  nativeFile?: string
  pprofFile?: string
  heapFile?: string
  startTimeMs: number
  durationMs: number
  cpuTimeNs?: number
  connects?: number
  alreadyConnected?: number
  partial: boolean
  eventLoopBlocked?: boolean
  /** What a blocked event loop cost the evidence, in words (also in the capture file's warnings). */
  loopNotes: string[]
  /** CPU that threads the profile does not sample burnt, in words (when > ~10% of the process's). */
  unprofiledCpu?: string
  /** Worker threads with a profile in the capture (inspector). */
  workersProfiled?: number
}

function storedNetwork(conn: ProbeConnection, windowMs: number): StoredNetwork {
  const ids = [...conn.stacks.keys()].sort((a, b) => a - b)
  const remap = new Map<number, number>()
  const stacks: string[][] = []
  for (const id of ids) {
    remap.set(id, stacks.length)
    stacks.push(conn.stacks.get(id)!)
  }
  return {
    source: 'node-probe',
    windowMs,
    stacks,
    connects: conn.connects.map((c) => ({ t: c.t, remote: c.r, tls: c.tls, ...(remap.has(c.s) ? { initiator: remap.get(c.s)! } : {}), alreadyConnected: c.a })),
    snapshots: conn.snapshots,
    ...(conn.end?.dropped ? { droppedConnects: conn.end.dropped } : {}),
  }
}

interface RawCpuprofile {
  nodes?: Array<{ id: number; hitCount?: number }>
  startTime?: number
  endTime?: number
  samples?: number[]
  timeDeltas?: number[]
}

/**
 * Drop the samples of the first `offsetMs` of a V8 profile: the inspector's profiler runs from the
 * attach, the window starts when every target is attached. startTime moves to the cut, hitCounts
 * are recounted.
 */
export function cutCpuprofile(prof: RawCpuprofile, offsetMs: number): RawCpuprofile {
  const samples = prof.samples
  const deltas = prof.timeDeltas
  if (!Array.isArray(samples) || !Array.isArray(deltas) || samples.length !== deltas.length || typeof prof.startTime !== 'number') return prof
  const cut = prof.startTime + offsetMs * 1000
  let t = prof.startTime
  let i = 0
  while (i < samples.length && t + deltas[i]! < cut) t += deltas[i++]!
  if (i === 0) return prof
  const keptSamples = samples.slice(i)
  const keptDeltas = deltas.slice(i)
  if (keptDeltas.length) keptDeltas[0] = t + deltas[i]! - cut
  const hits = new Map<number, number>()
  for (const s of keptSamples) hits.set(s, (hits.get(s) ?? 0) + 1)
  return {
    ...prof,
    nodes: prof.nodes?.map((n) => ({ ...n, hitCount: hits.get(n.id) ?? 0 })),
    startTime: cut,
    samples: keptSamples,
    timeDeltas: keptDeltas,
  }
}

/** The worker threads' profiles, each in its own file (raw data, written before the capture file). */
async function writeWorkerProfiles(dir: string, pid: number, conn: ProbeConnection, warnings: string[]): Promise<CaptureWorker[]> {
  const out: CaptureWorker[] = []
  const seen = new Set<number>()
  for (const pw of conn.workers) {
    if (seen.has(pw.threadId)) continue // a worker is reported once; ignore a repeat
    seen.add(pw.threadId)
    const cw: CaptureWorker = { threadId: pw.threadId, name: pw.name, ...(pw.tid ? { tid: pw.tid } : {}), startMs: pw.startMs, fromStart: pw.fromStart }
    if (pw.profile && typeof pw.profile === 'object') {
      const file = `node-${pid}.worker-${pw.threadId}.cpuprofile`
      await writeAtomic(join(dir, file), JSON.stringify(pw.profile))
      cw.profile = { format: 'cpuprofile', file }
    } else {
      cw.lost = pw.lost ?? 'no profile'
      warnings.push(`worker ${pw.threadId}${pw.name ? ` (${pw.name})` : ''}: no profile: ${cw.lost}`)
    }
    out.push(cw)
  }
  return out
}

export const LOOP_BLOCKED_WARNING = 'event loop blocked for the whole window: no network evidence (the main thread never yielded: a busy-wait or CPU hog in synchronous code)'

/** What a blocked event loop cost the window's evidence, in words. */
function loopWarnings(conn: ProbeConnection, blockedAll: boolean): string[] {
  if (blockedAll) return [LOOP_BLOCKED_WARNING]
  const out: string[] = []
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
  if (conn.end?.netStartMs) out.push(`event loop blocked for the first ${s(conn.end.netStartMs)} of the window: network evidence covers the rest`)
  if (conn.rescued && conn.end && !/dropped/.test(conn.end.reason)) {
    const last = conn.snapshotsBeforeRescue ? conn.snapshots[conn.snapshotsBeforeRescue - 1]!.t : 0
    out.push(`event loop blocked for the last ${s(Math.max(0, conn.end.wallMs - last))} of the window (the data was collected through the inspector): network evidence up to then`)
  }
  return out
}

export async function writeCaptureFiles(w: WriteInput): Promise<WrittenCapture> {
  const pid = w.info.pid
  const warnings = [...w.warnings]
  let profile: CaptureFile['profile']
  let native: CaptureFile['native']
  let workers: CaptureWorker[] | undefined
  let partial = Boolean(w.exitedMidWindow)
  const loopNotes: string[] = []
  if (w.exitedMidWindow) warnings.push(w.exitedMidWindow)
  if (w.interrupted) warnings.push('window ended early by Ctrl-C')

  // Raw data first.
  if (w.conn) {
    const p = w.conn.profile
    if (p && p.format === 'cpuprofile') {
      const file = `node-${pid}.cpuprofile`
      const offset = w.conn.end?.windowOffsetMs
      await writeAtomic(join(w.dir, file), JSON.stringify(offset ? cutCpuprofile(p.data as RawCpuprofile, offset) : p.data))
      profile = { format: 'cpuprofile', file }
    } else if (p && p.format === 'pprof' && typeof p.data === 'string') {
      const file = `node-${pid}.pb.gz`
      await writeAtomic(join(w.dir, file), Buffer.from(p.data, 'base64'))
      profile = { format: 'pprof', file }
    } else {
      partial = true
      warnings.push(`no CPU profile: pid ${pid} went away before handing it over${w.conn.errors.length ? ` (${w.conn.errors[0]})` : ''}`)
    }
    workers = await writeWorkerProfiles(w.dir, pid, w.conn, warnings)
    for (const e of w.conn.errors) if (!warnings.some((x) => x.includes(e))) warnings.push(e)
    loopNotes.push(...loopWarnings(w.conn, Boolean(w.eventLoopBlocked)))
    warnings.push(...loopNotes)
  }
  for (const [rec, prefix, isMain] of [[w.perf, 'native', true], [w.nativePerf, 'node', false]] as const) {
    if (!rec) continue
    const problem = rec.problem()
    const file = `${prefix}-${pid}.perf.txt`
    if (problem) {
      warnings.push(problem.message + (problem.hint ? ` (${problem.hint})` : ''))
      if (isMain) partial = true
      continue
    }
    try {
      const samples = await perfScript(rec.dataFile, join(w.dir, file))
      if (samples === 0) {
        warnings.push(`perf recorded no samples of pid ${pid} (idle in the window?)`)
      } else if (isMain) profile = { format: 'perf-script', file }
      else native = { format: 'perf-script', file }
    } catch (e) {
      warnings.push((e as Error).message)
      if (isMain) partial = true
    }
  }
  if (native && w.backend !== 'perf') warnings.push('--native: JavaScript frames are named in the perf profile only when the target runs with --perf-basic-prof')

  const durationMs = w.conn?.end?.wallMs ?? Math.max(0, w.stopEpochMs - w.startEpochMs)
  const cpu = w.conn?.end?.cpuNs ?? w.cpuTimeNs
  let network: StoredNetwork | undefined
  // A loop that never turned recorded no connects: no network evidence rather than a misleading zero.
  if (w.conn && !w.eventLoopBlocked && (w.conn.snapshots.length || w.conn.connects.length)) network = storedNetwork(w.conn, durationMs)
  else if (w.network) network = w.network as StoredNetwork
  // --heap: the heap profile is raw data too, written before the capture file.
  let heapFile: string | undefined
  const heapMod = w.conn?.heap.active || w.memory ? await import('./heap.js') : undefined
  const heapData = heapMod && w.conn?.heap.points.length ? heapMod.heapPprof(w.conn.heap, { name: w.name, pid, startTimeNs: w.startEpochMs * 1e6, durationNs: durationMs * 1e6 }) : undefined
  if (heapData) await writeAtomic((heapFile = join(w.dir, `node-${pid}.heap.pb.gz`)), heapData)
  const growth = heapMod?.growthEvidence(w.conn?.heap.active ? w.conn.heap : undefined, w.memory, durationMs)
  if (w.memory && w.backend === 'perf') warnings.push('--heap: a native process has no heap profile (perf samples CPU only); RSS, fds and threads come from /proc')
  const node = w.conn?.hello?.node
  const unprofiled = unprofiledCpu(w.threads, durationMs * 1e6)
  const cap: CaptureFile = {
    meshprof: 'capture',
    version: 1,
    process: {
      pid,
      command: w.info.command,
      name: w.name,
      backend: w.backend,
      startTimeMs: w.startEpochMs,
      durationMs: Math.round(durationMs * 1000) / 1000,
      rateHz: w.rateHz,
      ...(cpu !== undefined ? { cpuTimeNs: Math.round(cpu) } : {}),
      partial,
      ...(w.eventLoopBlocked ? { eventLoopBlocked: true } : {}),
      ...(w.threads?.length ? { threads: w.threads.map((t) => ({ ...t, cpuNs: Math.round(t.cpuNs) })) } : {}),
      ...(node ? { node } : {}),
      ...(w.info.exe ? { exe: w.info.exe } : {}),
    },
    ...(profile ? { profile } : {}),
    ...(native ? { native } : {}),
    ...(workers?.length ? { workers } : {}),
    ...(network ? { network } : {}),
    ...(heapFile ? { heap: { format: 'pprof' as const, file: basename(heapFile) } } : {}),
    ...(growth ? { growth } : {}),
    warnings,
  }
  const captureFile = join(w.dir, `${w.name}-${pid}.capture.json`)
  await writeAtomic(captureFile, JSON.stringify(cap, null, 1) + '\n')

  // A pprof copy that `go tool pprof` reads (the agent's raw file already is one).
  let pprofFile: string | undefined
  if (profile && profile.format !== 'pprof') {
    try {
      const { loadProfiles } = await import('../formats/index.js')
      const { toPprof } = await import('../formats/pprof-export.js')
      const { mergeProfiles } = await import('../model/ops.js')
      // with worker threads, the capture file itself: one profile with a root per thread
      const { profiles } = workers?.some((x) => x.profile) ? await loadProfiles(captureFile, { format: 'capture' }) : await loadProfiles(join(w.dir, profile.file), { format: profile.format })
      const p = profiles.length === 1 ? profiles[0]! : mergeProfiles(profiles)
      const out = join(w.dir, `${w.name}-${pid}.pb.gz`)
      if (!existsSync(out)) {
        await writeAtomic(out, toPprof(p))
        pprofFile = out
        cap.pprof = { file: basename(out) }
        await writeAtomic(captureFile, JSON.stringify(cap, null, 1) + '\n')
      }
    } catch (e) {
      cap.warnings.push(`no pprof copy: ${(e as Error).message}`)
      await writeAtomic(captureFile, JSON.stringify(cap, null, 1) + '\n')
    }
  } else if (profile?.format === 'pprof') {
    pprofFile = join(w.dir, profile.file)
  }

  const connects = network?.connects.length
  const alreadyConnected = network?.connects.filter((c) => c.alreadyConnected).length
  return {
    captureFile,
    profileFile: profile ? join(w.dir, profile.file) : undefined,
    nativeFile: native ? join(w.dir, native.file) : undefined,
    pprofFile,
    heapFile,
    startTimeMs: w.startEpochMs,
    durationMs,
    cpuTimeNs: cpu,
    connects,
    alreadyConnected,
    partial,
    ...(w.eventLoopBlocked ? { eventLoopBlocked: true } : {}),
    loopNotes,
    ...(unprofiled ? { unprofiledCpu: unprofiled.sentence } : {}),
    ...(workers?.some((x) => x.profile) ? { workersProfiled: workers.filter((x) => x.profile).length } : {}),
  }
}

export async function writeMeshFile(dir: string, captureFiles: string[], startSpreadMs?: number): Promise<string> {
  const mesh: MeshFile = { meshprof: 'mesh-capture', version: 1, captures: captureFiles.map((f) => basename(f)), ...(startSpreadMs !== undefined ? { startSpreadMs } : {}) }
  const path = join(dir, 'mesh.json')
  await writeAtomic(path, JSON.stringify(mesh, null, 1) + '\n')
  return path
}
