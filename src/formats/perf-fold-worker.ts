// Worker thread for perf-fold.ts: waits for the default event type, then takes chunks of the
// file from the shared counter until none is left, folding them with one parser, and posts the
// unique stacks back with the list of chunks it folded. Imports only the line machine.
import { closeSync, openSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { ChunkFolder } from './perf-fold.js'
import type { CoreOptions } from './perf-core.js'
import { transferables } from './perf-stacks.js'

interface Job {
  path: string
  bounds: number[]
  counter: SharedArrayBuffer
  opts: CoreOptions
  flushLast: boolean
}

const job = workerData as Job
parentPort!.once('message', (m: { preset?: string }) => {
  try {
    const fd = openSync(job.path, 'r')
    try {
      const next = new Int32Array(job.counter)
      const n = job.bounds.length - 1
      const folder = new ChunkFolder(job.opts, m.preset)
      for (;;) {
        const i = Atomics.add(next, 0, 1)
        if (i >= n) break
        folder.fold(fd, job.bounds[i]!, job.bounds[i + 1]!, i === n - 1, job.flushLast)
        folder.chunks.push(i)
      }
      const result = { ...folder.result(true), chunks: folder.chunks }
      parentPort!.postMessage({ ok: true, result }, transferables(result.stacks))
    } finally {
      closeSync(fd)
    }
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error)?.message ?? String(e) })
  }
})
