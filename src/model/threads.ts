// CPU per thread over a capture window (/proc/<pid>/task/*/stat), and what no profile explains: the
// CPU of the threads the profiler did not sample (the libuv pool, V8's helpers, worker threads,
// native addons). One sentence shared by the capture summary and analyze.
import { formatCores } from './cpu-basis.js'

export interface ThreadCpu {
  tid: number
  /** The kernel's thread name (comm): 'node' (main, workers), 'libuv-worker', 'V8 DefaultWorke'... */
  name: string
  /** CPU time (user + system) the thread used in the window, ns. */
  cpuNs: number
  /** The capture's profile samples this thread. */
  profiled: boolean
}

export interface UnprofiledCpu {
  /** CPU of every thread over the window, ns. */
  totalNs: number
  /** CPU of the threads no profile samples, ns. */
  unprofiledNs: number
  /** Those threads, most CPU first. */
  threads: ThreadCpu[]
  sentence: string
}

/** Below this part of the process CPU, unprofiled threads are not worth a sentence. */
export const UNPROFILED_MIN_SHARE = 0.1
/** Nor below this many cores (a nearly idle process: clock-tick noise). */
const UNPROFILED_MIN_CORES = 0.02

/** The unexplained CPU when it is more than ~10% of the process's: undefined otherwise or when unknown. */
export function unprofiledCpu(threads: readonly ThreadCpu[] | undefined, durationNs: number | undefined): UnprofiledCpu | undefined {
  if (!threads || !threads.length || !durationNs || durationNs <= 0) return undefined
  const totalNs = threads.reduce((s, t) => s + t.cpuNs, 0)
  const off = threads.filter((t) => !t.profiled && t.cpuNs > 0).sort((a, b) => b.cpuNs - a.cpuNs || a.tid - b.tid)
  const unprofiledNs = off.reduce((s, t) => s + t.cpuNs, 0)
  if (totalNs <= 0 || unprofiledNs < UNPROFILED_MIN_SHARE * totalNs || unprofiledNs / durationNs < UNPROFILED_MIN_CORES) return undefined
  // by name: a pool of 4 'libuv-worker' threads is one line, not four
  const byName = new Map<string, { n: number; ns: number }>()
  for (const t of off) {
    const g = byName.get(t.name) ?? { n: 0, ns: 0 }
    g.n++
    g.ns += t.cpuNs
    byName.set(t.name, g)
  }
  const groups = [...byName.entries()].sort((a, b) => b[1].ns - a[1].ns)
  const named = groups.slice(0, 5).map(([name, g]) => `${g.n > 1 ? `${g.n}x ` : ''}'${name}' ${formatCores(g.ns / durationNs)}`)
  if (groups.length > 5) named.push(`${groups.length - 5} more`)
  const sentence = `${formatCores(unprofiledNs / durationNs)} of ${formatCores(totalNs / durationNs)} cores ran in threads that were not profiled (${off.length} thread${off.length === 1 ? '' : 's'}: ${named.join(', ')})`
  return { totalNs, unprofiledNs, threads: off, sentence }
}
