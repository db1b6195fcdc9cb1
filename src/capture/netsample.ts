// Network evidence for native targets, from /proc only: the pid's socket inodes matched against
// /proc/<pid>/net/tcp{,6}, sampled every SAMPLE_MS. A socket inode not seen before is a new
// connection; it counts as "already connected" when the previous sample held another established
// outbound socket to the same remote. Connections that open and close between two samples are not
// seen, so the counts are lower bounds.
import type { ConnectEvent, NetworkEvidence, SocketSnapshot } from '../model/types.js'
import { hostPort, socketsOf } from './proc.js'

export const SAMPLE_MS = 100
export const SNAPSHOT_MS = 1000

export class ProcNetSampler {
  private timer?: NodeJS.Timeout
  private t0 = 0
  private known = new Map<string, string>() // inode -> remote
  private lastSnapshotT = -Infinity
  readonly connects: ConnectEvent[] = []
  readonly snapshots: SocketSnapshot[] = []
  samples = 0

  constructor(readonly pid: number, private sampleMs = SAMPLE_MS) {}

  start(): void {
    this.t0 = performance.now()
    this.sample(true)
    this.timer = setInterval(() => this.sample(false), this.sampleMs)
  }

  private sample(first: boolean): void {
    let outbound
    try {
      outbound = socketsOf(this.pid).outbound
    } catch {
      return // gone or forbidden: keep what we have
    }
    this.samples++
    const t = Math.round((performance.now() - this.t0) * 1000) / 1000
    const prevRemotes = new Map<string, number>()
    for (const r of this.known.values()) prevRemotes.set(r, (prevRemotes.get(r) ?? 0) + 1)
    const now = new Map<string, string>()
    for (const e of outbound) {
      const remote = hostPort(e.remoteAddr, e.remotePort)
      now.set(e.inode, remote)
      if (!first && !this.known.has(e.inode)) {
        this.connects.push({ t, remote, tls: false, alreadyConnected: (prevRemotes.get(remote) ?? 0) > 0 })
      }
    }
    this.known = now
    if (first || t - this.lastSnapshotT >= SNAPSHOT_MS - this.sampleMs / 2) {
      this.snapshots.push({ t, remotes: [...now.values()].sort() })
      this.lastSnapshotT = t
    }
  }

  stop(): NetworkEvidence {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.sample(false)
    const last = this.snapshots[this.snapshots.length - 1]
    const t = Math.round((performance.now() - this.t0) * 1000) / 1000
    if (!last || last.t < t - 1) this.snapshots.push({ t, remotes: [...this.known.values()].sort() })
    return { source: 'proc-net', windowMs: t, connects: this.connects, snapshots: this.snapshots }
  }
}
