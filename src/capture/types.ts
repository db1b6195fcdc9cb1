// Shapes shared by the capture back-ends, the orchestration and the capture-file importer.
import type { GrowthEvidence, NetworkEvidence } from '../model/types.js'
import type { ThreadCpu } from '../model/threads.js'

export type Backend = 'inspector' | 'agent' | 'perf'
export const BACKENDS: readonly Backend[] = ['inspector', 'agent', 'perf']

/** `<name>-<pid>.capture.json` (the format: docs/capture-format.md). */
export interface CaptureFile {
  meshprof: 'capture'
  version: 1
  process: {
    pid: number
    command: string
    name: string
    backend: Backend
    /** Epoch ms of the window start. */
    startTimeMs: number
    durationMs: number
    rateHz: number
    cpuTimeNs?: number
    partial: boolean
    /**
     * The main thread never turned its event loop in the window (synchronous JavaScript all along):
     * the CPU profile came through the inspector, and there is no network evidence.
     */
    eventLoopBlocked?: boolean
    /** CPU per thread over the window (/proc/<pid>/task/<tid>/stat), and whether the profile samples it. */
    threads?: ThreadCpu[]
    node?: string
    exe?: string
  }
  /** Raw profile, relative to the capture file. Absent when the target died before handing it over. */
  profile?: { format: 'cpuprofile' | 'pprof' | 'perf-script'; file: string }
  /**
   * Inspector: every worker thread profiled in the window, each its own V8 CPU profile. A worker
   * without `profile` was seen but not profiled (`lost` says why: it exited before the window ended,
   * the main thread's loop was blocked at the end, ...).
   */
  workers?: CaptureWorker[]
  native?: { format: 'perf-script'; file: string }
  /** pprof copy that `go tool pprof` reads. */
  pprof?: { file: string }
  /**
   * NetworkEvidence, with one storage difference: `stacks` is a table of initiator stacks and a
   * connect's `initiator` may be an index into it (the importer expands it).
   */
  network?: StoredNetwork
  /** capture --heap: live heap by allocation site at the end of the window (pprof inuse_objects/inuse_space). */
  heap?: { format: 'pprof'; file: string }
  /** capture --heap: handles, used heap, RSS/fds/threads and the main allocation sites over the window. */
  growth?: GrowthEvidence
  warnings: string[]
}

export interface CaptureWorker {
  threadId: number
  /** The Worker's `name` option, '' when not set. */
  name: string
  /** OS thread id, when known (it marks the thread profiled in process.threads). */
  tid?: number
  /** ms into the window when its profiler started; 0 = running at the window start. */
  startMs: number
  /** Started in the window and profiled from its first line. */
  fromStart: boolean
  profile?: { format: 'cpuprofile'; file: string }
  lost?: string
}

export type StoredNetwork = Omit<NetworkEvidence, 'connects'> & {
  stacks?: string[][]
  connects: Array<Omit<NetworkEvidence['connects'][number], 'initiator'> & { initiator?: number | readonly string[] }>
}

export interface MeshFile {
  meshprof: 'mesh-capture'
  version: 1
  captures: string[]
  /** Largest difference between two targets' window starts, ms. */
  startSpreadMs?: number
}
