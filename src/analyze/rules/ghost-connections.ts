// ghost-connections: established connections per peer that GROW over the window (or across
// captures of the same process), not merely two at one instant: a reconnect briefly holds two.
// Needs network evidence (socket snapshots); without it the rule is skipped and says so.
import type { ConnectEvent, SocketSnapshot } from '../../model/types.js'
import type { Finding, Rule, RuleContext, Severity, ThresholdSpec } from './types.js'

export const GHOST_THRESHOLDS: Record<string, ThresholdSpec> = {
  minGrowth: { default: 2, min: 1, description: 'extra established connections to already-connected peers gained over the window (summed over peers) for a finding' },
  minPeerSockets: { default: 2, min: 2, description: 'a peer counts only when it ends with at least this many established connections' },
  highGrowth: { default: 8, min: 1, description: 'growth for severity high (below: medium)' },
}

export interface GhostPeer {
  remote: string
  first: number
  last: number
  max: number
}

export interface GhostFacts {
  snapshots: number
  spanMs: number
  peers: GhostPeer[]
  growth: number
  startTotal: number
  endTotal: number
  /** Peers holding >= 2 sockets in the first and the last snapshot without growing. */
  stableDuplicates: number
  reconnects: number
}

function counts(s: SocketSnapshot): Map<string, number> {
  const m = new Map<string, number>()
  for (const r of s.remotes) m.set(r, (m.get(r) ?? 0) + 1)
  return m
}

/** Growth of established connections per peer over a timeline of snapshots (sorted or not). */
export function ghostFacts(snaps: readonly SocketSnapshot[], connects: readonly ConnectEvent[], minPeerSockets: number): GhostFacts | undefined {
  if (snaps.length < 2) return undefined
  const sorted = [...snaps].sort((a, b) => a.t - b.t)
  const cs = sorted.map(counts)
  const first = cs[0]!
  const last = cs[cs.length - 1]!
  const remotes = new Set<string>()
  for (const c of cs) for (const r of c.keys()) remotes.add(r)
  const peers: GhostPeer[] = []
  let growth = 0
  let stableDuplicates = 0
  // Robust against one odd snapshot: compare the highest count of the first third of the snapshots
  // with the lowest count of the last third (with 2 snapshots: first vs last).
  const k = Math.max(1, Math.floor(cs.length / 3))
  for (const r of remotes) {
    const series = cs.map((c) => c.get(r) ?? 0)
    const f = series[0]!
    const l = series[series.length - 1]!
    const early = Math.max(...series.slice(0, k))
    const late = Math.min(...series.slice(series.length - k))
    let max = 0
    for (const x of series) max = Math.max(max, x)
    // a ghost is an extra connection to a peer that was already connected at the start
    if (early >= 1 && late >= minPeerSockets && late > early) {
      peers.push({ remote: r, first: f, last: l, max })
      growth += late - early
    } else if (f >= 2 && l >= 2 && late <= early) stableDuplicates++
  }
  peers.sort((a, b) => b.last - b.first - (a.last - a.first) || (a.remote < b.remote ? -1 : 1))
  let startTotal = 0
  let endTotal = 0
  for (const v of first.values()) startTotal += v
  for (const v of last.values()) endTotal += v
  const reconnects = connects.filter((c) => c.alreadyConnected === true).length
  return { snapshots: sorted.length, spanMs: sorted[sorted.length - 1]!.t - sorted[0]!.t, peers, growth, startTotal, endTotal, stableDuplicates, reconnects }
}

/** Finding fields (without ids) for growth facts; undefined when below the thresholds. */
export function ghostVerdict(g: GhostFacts, minGrowth: number, highGrowth: number, where: string): { severity: Severity; message: string; notes: string[]; numbers: Record<string, number | string>; frames: string[] } | undefined {
  if (g.growth < minGrowth) return undefined
  const severity: Severity = g.growth >= highGrowth ? 'high' : 'medium'
  const grownFrom = g.peers.reduce((s, p) => s + p.first, 0)
  const grownTo = g.peers.reduce((s, p) => s + p.last, 0)
  const examples = g.peers.slice(0, 3).map((p) => `${p.remote} ${p.first} -> ${p.last}`).join(', ')
  const notes = [
    `per peer: ${examples}${g.peers.length > 3 ? `, … (${g.peers.length} peers)` : ''}`,
    `${g.snapshots} socket snapshots over ${(g.spanMs / 1000).toFixed(1)} s ${where}; the extra connections stayed open (a reconnect that closes the old one holds two only briefly)`,
  ]
  if (g.reconnects > 0) notes.push(`${g.reconnects} connects in the window went to peers that were already connected`)
  if (g.stableDuplicates > 0) notes.push(`${g.stableDuplicates} more peer(s) held 2+ connections throughout without growing`)
  return {
    severity,
    message: `established connections to ${g.peers.length} peer${g.peers.length === 1 ? '' : 's'} grew from ${grownFrom} to ${grownTo} ${where} (+${g.growth}), old ones never closed`,
    notes,
    numbers: {
      growth: g.growth,
      peersGrowing: g.peers.length,
      establishedStart: g.startTotal,
      establishedEnd: g.endTotal,
      snapshots: g.snapshots,
      spanMs: Math.round(g.spanMs),
      reconnectsToConnectedPeers: g.reconnects,
      stableDuplicatePeers: g.stableDuplicates,
    },
    frames: [],
  }
}

export const ghostConnections: Rule = {
  id: 'ghost-connections',
  title: 'Ghost connections',
  severity: 'high',
  source: 'builtin',
  description:
    'Established connections per peer that grow over the window (or across several captures of the same process): ' +
    'a reconnect replaced the registry entry without closing the old connection. Two connections at one instant are ' +
    'not enough: a reconnect briefly holds two. Needs network evidence (socket snapshots from meshprof capture).',
  remedy: 'close the previous connection before replacing it when a peer reconnects (and remove closed peers from every registry)',
  thresholds: GHOST_THRESHOLDS,
  check(ctx: RuleContext): Finding[] {
    const net = ctx.profile.network
    if (!net) {
      ctx.skip('no network evidence (socket snapshots): only a meshprof capture records established connections')
      return []
    }
    const g = ghostFacts(net.snapshots, net.connects, ctx.t('minPeerSockets'))
    if (!g) {
      ctx.skip(`fewer than two socket snapshots in the network evidence (${net.snapshots.length})`)
      return []
    }
    const v = ghostVerdict(g, ctx.t('minGrowth'), ctx.t('highGrowth'), 'during the window')
    // Duplicates that hold steady are no finding: one connection per direction or per stream is a
    // design, and a note that says "may be intended" is not worth a reader's time.
    if (!v) return []
    return [ctx.finding({ severity: v.severity, share: 0, message: v.message, frames: v.frames, evidence: { numbers: v.numbers, notes: v.notes } })]
  },
}
