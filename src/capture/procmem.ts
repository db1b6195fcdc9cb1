// RSS, open fds and threads of any pid from /proc, every second of a `capture --heap` window (native
// targets too: perf has no heap, /proc still tells whether the process grows). Kept apart from heap.ts
// so a capture without --heap loads nothing more.
import { readFileSync, readdirSync } from 'node:fs'
import type { GrowthSeries } from '../model/types.js'

/** RSS, open fds and threads of a pid from /proc; undefined when it is gone or not ours. */
export function procMemory(pid: number): { rss: number; fds: number; threads: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN)
    const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? NaN)
    const fds = readdirSync(`/proc/${pid}/fd`).length
    if (!Number.isFinite(rssKb) || !Number.isFinite(threads)) return undefined
    return { rss: rssKb * 1024, fds, threads }
  } catch {
    return undefined
  }
}

/** /proc figures of the target every second of the window. */
export class ProcMemorySampler {
  private timer?: NodeJS.Timeout
  private t0 = 0
  readonly points: Array<[number, { rss: number; fds: number; threads: number }]> = []

  constructor(readonly pid: number, private everyMs = 1000) {}

  start(): void {
    this.t0 = performance.now()
    this.sample()
    this.timer = setInterval(() => this.sample(), this.everyMs)
    this.timer.unref()
  }

  private sample(): void {
    const m = procMemory(this.pid)
    if (m) this.points.push([Math.round((performance.now() - this.t0) * 1000) / 1000, m])
  }

  stop(): void {
    if (!this.timer) return
    clearInterval(this.timer)
    this.timer = undefined
    this.sample()
  }

  series(): GrowthSeries[] {
    if (!this.points.length) return []
    return (['rss', 'fds', 'threads'] as const).map((k) => ({ name: k, unit: k === 'rss' ? 'bytes' : 'count', points: this.points.map(([t, m]) => [t, m[k]] as const) }))
  }
}
