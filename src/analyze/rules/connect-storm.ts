// connect-storm: connect / dial / handshake / TLS work takes a large share of all CPU and is
// reached from a periodic caller (timer, interval tick, task loop). With network evidence
// (capture), count connects to peers that already had an established connection and name the
// periodic caller from the connects' initiator stacks: in Node the handshake CPU sits under the
// socket callbacks (afterConnect, onConnectSecure), not under the timer that started it.
import { frameParts, isAcceptSideFrame, isConnectFrame, isConnectLibraryFrame, isServerHandshakeFrame, isLoopTaskFrame, isPeriodicFrame, isScaffoldingFrame } from '../classify.js'
import type { ConnectEvent, NetworkEvidence } from '../../model/types.js'
import { stackFrames } from '../../model/builder.js'
import type { Finding, Rule, RuleContext, Severity, StackMaskInfo } from './types.js'
import { minSeverity } from './types.js'
import { chain, ladder, median, ms, pct, cores as fmtCores, secs, shortName, trimStack } from './util.js'

/** Socket / TLS callbacks: the handshake CPU of a Node connect runs under these, not under its caller. */
const SOCKET_CALLBACK_RE = /^(afterConnect|ssl\.onhandshakedone|onhandshakedone|TLSSocket\._finishInit|onConnectSecure|onconnection|tlsConnectionListener|onStreamRead|onnewsession|onocspresponse|loadSession|TLSWrap.*)$/
/** Timer dispatch of an event loop: the caller is the function it runs, not the dispatcher. */
const TIMER_RE = /listOnTimeout|processTimers|setInterval|Timeout\._onTimeout|uv__run_timers|timerproc|timerfd|timer_fd/
/** An interval on the stack: tokio's Interval::tick / IntervalStream, Go's time.Ticker. */
const INTERVAL_RE = /tokio::time::interval|Interval(<[^>]*>)?::(poll_)?tick|IntervalStream|time\.Ticker|Ticker\)?\.|Ticker$/

/** A connect-setup frame (classify.isConnectFrame: what the frame is, not a word match). */
export function isConnectName(name: string): boolean {
  return isConnectFrame(name)
}

/**
 * A frame of an initiator stack as JavaScript's Error.stack writes it, reduced to the name a CPU
 * profile shows: `Timeout.runGossip [as _onTimeout] (/app/node.js:106:33)` -> `runGossip`.
 */
export function initiatorName(line: string): string {
  let n = line.trim().replace(/^at\s+/, '').replace(/^async\s+/, '')
  n = n.replace(/\s+\((?:[^()]|\([^()]*\))*\)$/, '') // " (file:line:col)"
  n = n.replace(/\s+\[as [^\]]*\]$/, '')
  n = n.replace(/^(Timeout|Immediate|Object|process|Module|Function)\./, '')
  return n === '' ? line.trim() : n
}

/**
 * A frame name as a caller chain shows it: a Rust async fn is `path::name::{{closure}}` (the future's
 * poll), and a tracing-flame span carries `:file:line`; both read as `path::name`.
 */
export function callerName(name: string): string {
  return shortName(name).replace(/::h[0-9a-f]{16}$/, '').replace(/(::)?\{\{[a-z_.]+\}\}(#\d+)?/g, '')
}

/** `a::b::C::f -> a::b::C::g` reads `a::b::C::f -> g`: each step without the path it shares with the step before. */
export function callerChain(names: readonly string[]): string {
  const full = names.map(callerName).filter((n, i, all) => i === 0 || n !== all[i - 1])
  const steps = full.map((n, i) => {
    if (i === 0 || !n.includes('::') || n.startsWith('<')) return n
    const segs = n.split('::')
    const prev = full[i - 1]!.split('::')
    let k = 0
    while (k < segs.length - 1 && k < prev.length - 1 && segs[k] === prev[k]) k++
    return segs.slice(k).join('::')
  })
  return chain(steps)
}

type CallerKind = 'timer' | 'interval frame' | 'tick, by name' | 'task loop, by name'

function callerKind(name: string): CallerKind | undefined {
  if (TIMER_RE.test(name)) return 'timer'
  if (INTERVAL_RE.test(name)) return 'interval frame'
  // the runtime's own loops (tokio's worker::run, Context::run_task) run every task, periodic or not
  if (isScaffoldingFrame(name)) return undefined
  if (isPeriodicFrame(name)) return 'tick, by name'
  if (isLoopTaskFrame(name)) return 'task loop, by name'
  return undefined
}

/** Why the caller counts as periodic, for the finding's text: `timer listOnTimeout`, `interval frame tokio::time::Interval::tick`, `tick, by name`. */
function kindText(kind: CallerKind, periodicFrame: string): string {
  return kind === 'timer' || kind === 'interval frame' ? `${kind} ${periodicFrame}` : kind
}

export interface CallerInfo {
  /** Index of the outermost connect frame. */
  first: number
  /** Index of the innermost connect frame. */
  last: number
  /** Index of the periodic frame nearest above `first` (-1: none). */
  periodic: number
  kind?: CallerKind
  /**
   * The caller: from the periodic function (a dispatcher such as a timer or an interval is not part of
   * it) down to the program's own function that starts the connects, runtime scaffolding left out:
   * `runGossip -> joinPeers`, `rust_node::Node::gossip_tick -> join_peers`.
   */
  callers: string[]
}

/** The program's own function nearest above index `i` (skipping the runtime's task polls); -1: none. */
export function nearestOwnFrame(names: readonly string[], i: number): number {
  for (let j = i - 1; j >= 0; j--) if (names[j] !== '' && !isScaffoldingFrame(names[j]!)) return j
  return -1
}

/** Where the connect work sits on one stack (names root first); undefined without a connect frame. */
export function callerInfo(names: readonly string[]): CallerInfo | undefined {
  let first = -1
  let last = -1
  for (let i = 0; i < names.length; i++) {
    if (isConnectName(names[i]!)) {
      if (first < 0) first = i
      last = i
    }
  }
  if (first < 0) return undefined
  let periodic = -1
  let kind: CallerKind | undefined
  // nearest timer/interval/tick frame above the connect wins; a task loop by name only when none is there
  for (let i = first - 1; i >= 0; i--) {
    const k = callerKind(names[i]!)
    if (k && k !== 'task loop, by name') { periodic = i; kind = k; break }
    if (k && periodic < 0) { periodic = i; kind = k }
  }
  // the connect frame itself can be the loop (`run_gossip` spans, `joinPeersTick`)
  if (periodic < 0) {
    const k = callerKind(names[first]!)
    if (k) { periodic = first; kind = k }
  }
  let callers: string[] = []
  if (periodic >= 0) {
    const dispatcher = kind === 'timer' || kind === 'interval frame'
    callers = names.slice(dispatcher ? periodic + 1 : periodic, first).filter((n) => n !== '' && !isScaffoldingFrame(n))
    // the program's own join/connect function that the periodic caller calls (joinPeers, join_peers),
    // not a library's connect (tls.connect, rustls::..., iroh::endpoint::connect from another crate)
    const own = names[first]!
    const before = callers[callers.length - 1]
    if (periodic !== first && !isConnectLibraryFrame(own) && (before === undefined || frameParts(before).crate === frameParts(own).crate)) callers.push(own)
    if (callers.length === 0) callers = [names[periodic]!]
  }
  return { first, last, periodic, ...(kind ? { kind } : {}), callers }
}

interface NetFacts {
  connects: number
  kept: number
  windowS: number
  peers: number
  already: number
  peersAlready: number
  withInitiator: number
  periodicConnects: number
  topCaller?: { chain: string; periodicFrame: string; kind: CallerKind; count: number }
  intervalMs?: number
  tls: number
}

function connectedAt(net: NetworkEvidence, c: ConnectEvent): boolean {
  let known = false
  for (const s of net.snapshots) {
    if (s.t <= c.t) known = s.remotes.includes(c.remote)
  }
  return known
}

function netFacts(net: NetworkEvidence): NetFacts {
  const cs = net.connects
  const peers = new Set<string>()
  const peersAlready = new Set<string>()
  let already = 0
  let withInitiator = 0
  let periodicConnects = 0
  let tls = 0
  const callers = new Map<string, { chain: string; periodicFrame: string; kind: CallerKind; count: number }>()
  const times = new Map<string, number[]>()
  for (const c of cs) {
    peers.add(c.remote)
    if (c.tls) tls++
    const was = c.alreadyConnected ?? connectedAt(net, c)
    if (was) { already++; peersAlready.add(c.remote) }
    let ts = times.get(c.remote)
    if (!ts) times.set(c.remote, (ts = []))
    ts.push(c.t)
    if (c.initiator && c.initiator.length) {
      withInitiator++
      // initiator stacks often end inside net/tls internals: look for the periodic frame anywhere
      const names = c.initiator.map(initiatorName)
      const info = callerInfo(names)
      let pIdx = -1
      let kind: CallerKind | undefined
      if (info && info.periodic >= 0) { pIdx = info.periodic; kind = info.kind }
      else {
        for (let i = names.length - 1; i >= 0; i--) {
          const k = callerKind(names[i]!)
          if (k && k !== 'task loop, by name') { pIdx = i; kind = k; break }
          if (k && pIdx < 0) { pIdx = i; kind = k }
        }
      }
      if (pIdx >= 0 && kind) {
        periodicConnects++
        let ch = info && info.periodic >= 0 ? info.callers : names.slice(pIdx + 1, info ? info.first + 1 : Math.min(names.length, pIdx + 4))
        if (ch.length === 0) ch = [names[pIdx]!]
        const key = callerChain(ch)
        const e = callers.get(key)
        if (e) e.count++
        else callers.set(key, { chain: key, periodicFrame: shortName(names[pIdx]!), kind, count: 1 })
      }
    }
  }
  const gaps: number[] = []
  // connects inferred from /proc snapshots carry the sampling instants, not the connect times
  if (net.source !== 'proc-net') for (const ts of times.values()) {
    ts.sort((a, b) => a - b)
    const g: number[] = []
    for (let i = 1; i < ts.length; i++) if (ts[i]! > ts[i - 1]!) g.push(ts[i]! - ts[i - 1]!)
    const m = median(g)
    if (m !== undefined && g.length >= 2) gaps.push(m)
  }
  const top = [...callers.values()].sort((a, b) => b.count - a.count)[0]
  const intervalMs = median(gaps)
  return {
    connects: cs.length + (net.droppedConnects ?? 0),
    kept: cs.length,
    windowS: net.windowMs / 1000,
    peers: peers.size,
    already,
    peersAlready: peersAlready.size,
    withInitiator,
    periodicConnects,
    ...(top ? { topCaller: top } : {}),
    ...(intervalMs !== undefined ? { intervalMs } : {}),
    tls,
  }
}

export const connectStorm: Rule = {
  id: 'connect-storm',
  title: 'Connect storm',
  severity: 'high',
  source: 'builtin',
  description:
    'Connect / dial / handshake / TLS frames take a large share of all CPU and are reached from a periodic caller ' +
    '(Node timers, setInterval, tokio interval ticks, *tick* / *loop* functions, run_* task loops). With network ' +
    'evidence it counts connects to peers that already had an established connection and names the periodic caller ' +
    'from the initiator stacks of the connects.',
  remedy: 'remember which peers are joined and connect only to new ones; reuse established connections (idempotent is not cheap)',
  thresholds: {
    minShare: { default: 0.03, min: 0, max: 1, description: 'connect CPU share (of the on-CPU time) below which nothing is reported' },
    mediumShare: { default: 0.2, min: 0, max: 1, description: 'connect CPU share for severity medium' },
    highShare: { default: 0.5, min: 0, max: 1, description: 'connect CPU share for severity high (the majority of the node\'s CPU), whatever the node\'s absolute CPU' },
    minCores: { default: 0.005, min: 0, description: 'connect CPU (cores) below which nothing is reported unless connects to already-connected peers recur at tick rate' },
    tickRepeatsPerPeerMinute: { default: 150, min: 0, description: 'with network evidence: connects per already-connected peer per minute that mark a periodic tick re-connecting (a storm; the incident\'s 100 ms tick makes 600, 200+ even on an overloaded host); fewer is connection recycling (make-before-break every few seconds, ~20) or reconnects after flaps, reported as info at most' },
    minPeriodicShare: { default: 0.2, min: 0, max: 1, description: 'part of the connect CPU that must sit under a periodic caller on the stacks to count as "reached from a periodic caller"' },
    minCoverage: { default: 0.7, min: 0, max: 1, description: 'with timestamps but no periodic caller on the stacks: part of the window\'s time slices that must hold connect CPU to count as recurring' },
    minRepeatConnects: { default: 5, min: 1, description: 'with network evidence: connects to already-connected peers that by themselves show a storm (reported even below minShare, as low)' },
    mediumRepeatRate: { default: 10, min: 0, description: 'with network evidence: connects per second to already-connected peers, from a periodic caller, that make the finding at least medium whatever its CPU share, and one step more severe than its share alone when they come at tick rate (the cost grows with peers x tick rate)' },
  },
  check(ctx: RuleContext): Finding[] {
    const { agg, profile: p } = ctx
    const connect = agg.mask('connect', (f) => f.kind !== 'idle' && f.kind !== 'program' && isConnectFrame(f))
    const share = agg.share(connect.weight)
    const net = p.network
    const nf = net ? netFacts(net) : undefined
    const minShare = ctx.t('minShare')
    const repeats = nf !== undefined && nf.already >= ctx.t('minRepeatConnects')
    if (share < minShare && !repeats) return []

    const { paths, pathFrames, callerW, periodicW, callbackW, callbackRoots, acceptW, acceptRoots, directW } = connectSites(ctx, connect)
    const topPath = [...paths.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'connect'
    const topCaller = [...callerW.values()].sort((a, b) => b.w - a.w)[0]
    const periodicShareOfConnect = connect.weight > 0 ? periodicW / connect.weight : 0

    const { coverage, slices } = connectCoverage(ctx, connect)

    const stackPeriodic = periodicShareOfConnect >= ctx.t('minPeriodicShare') && topCaller !== undefined
    const evidencePeriodic = nf !== undefined && nf.topCaller !== undefined && nf.periodicConnects >= Math.max(1, 0.5 * nf.withInitiator)
    const recurring = coverage !== undefined && coverage >= ctx.t('minCoverage')
    const periodic = stackPeriodic || evidencePeriodic || repeats || recurring

    let severity: Severity | undefined = ladder(share, minShare, ctx.t('mediumShare'), ctx.t('highShare'))
    if (severity === undefined) severity = 'low' // only reached with network evidence of repeated connects
    if (!periodic) severity = minSeverity(severity, 'low')
    const repeatRate = nf && nf.windowS > 0 ? nf.already / nf.windowS : 0
    // Pointlessness: connects to peers that were already connected, per such peer per minute. A tick
    // re-joining every peer (the incident: every 100 ms) makes hundreds; recycling a connection
    // make-before-break every few seconds makes a handful, and is healthy.
    const perPeerPerMinute = nf && nf.windowS > 0 && nf.peersAlready > 0 ? (nf.already / nf.peersAlready) * (60 / nf.windowS) : 0
    const tickRate = nf !== undefined && repeats && perPeerPerMinute >= ctx.t('tickRepeatsPerPeerMinute')
    // Proven pointless (tick-rate re-connects): the majority of the node's CPU is high whatever its
    // absolute CPU; below that, the rate of pointless handshakes (it grows with peers x tick rate)
    // decides: at mediumRepeatRate or more one step above the share's ladder, else low.
    const stepUp = tickRate && repeatRate >= ctx.t('mediumRepeatRate') && severity !== 'high'
    const escalated = nf !== undefined && (evidencePeriodic || stackPeriodic || tickRate) && repeatRate >= ctx.t('mediumRepeatRate') && severity === 'low'
    if (stepUp) severity = severity === 'medium' ? 'high' : 'medium'
    else if (escalated) severity = 'medium'
    else if (tickRate && share < ctx.t('highShare')) severity = 'low'
    // a caller named only by convention (run_*, gossip) and nothing else: one step less sure
    const byNameOnly = !evidencePeriodic && !repeats && !recurring && stackPeriodic && topCaller!.kind === 'task loop, by name'
    if (byNameOnly) severity = minSeverity(severity, share >= ctx.t('highShare') ? 'high' : 'medium')
    const connectCores = agg.cores(connect.weight)
    let healthyNote: string | undefined
    if (nf !== undefined && !tickRate && (nf.connects > 0 || !(stackPeriodic || recurring))) {
      // the capture counted every outgoing connect: none re-joins a connected peer at tick rate (or there
      // were none, and nothing on the stacks recurs: a few handshakes, e.g. a connection being set up)
      if (share < minShare) return []
      severity = 'info'
      healthyNote = nf.connects === 0
        ? 'not a storm: no outgoing connect in the window, and no periodic caller or recurring connect work on the stacks'
        : nf.already > 0
        ? `not a storm: ${nf.already} connect${nf.already === 1 ? '' : 's'} to ${nf.peersAlready} already-connected peer${nf.peersAlready === 1 ? '' : 's'} is ${perPeerPerMinute.toFixed(0)} per peer per minute (a tick re-joining peers makes ${ctx.t('tickRepeatsPerPeerMinute')}+): connection recycling (make-before-break), not a periodic re-join`
        : 'not a storm: every connect in the window went to a peer that was not connected (connection setup)'
    } else if (!tickRate && connectCores !== undefined && connectCores < ctx.t('minCores')) {
      // too little CPU to matter, and no evidence of pointless re-connects
      return []
    }

    const notes: string[] = []
    if (healthyNote) notes.push(healthyNote)
    const intervalMs = nf?.intervalMs
    const every = intervalMs !== undefined ? `, every ~${ms(intervalMs)}` : ''
    if (evidencePeriodic && nf!.topCaller) {
      const c = nf!.topCaller
      notes.push(`started from a periodic caller: ${c.chain} (${kindText(c.kind, c.periodicFrame)}${every}) — initiator stacks of ${nf!.periodicConnects} of ${nf!.withInitiator} connects`)
    } else if (stackPeriodic && topCaller) {
      notes.push(`called from a periodic caller: ${topCaller.chain} (${kindText(topCaller.kind, topCaller.periodicFrame)}${every}); ${pct(periodicShareOfConnect)} of the connect CPU sits under it`)
    } else if (recurring) {
      const direct = [...directW.entries()].sort((a, b) => b[1] - a[1])[0]
      notes.push(`recurring through the whole window (connect CPU in ${Math.round(coverage! * slices)} of ${slices} time slices); no timer or loop frame on the stacks` + (direct ? `: connects start from ${direct[0]} (an async loop or a callback)` : ''))
    } else if (repeats) {
      notes.push('repeated connects to already-connected peers (network evidence); no periodic caller on the stacks')
    } else {
      notes.push('no periodic caller found on the stacks' + (coverage !== undefined ? ` and connect CPU in only ${Math.round(coverage * slices)} of ${slices} time slices` : '') + ': may be ordinary connection setup')
    }
    if (nf) {
      const rate = nf.windowS > 0 ? nf.connects / nf.windowS : 0
      notes.push(
        `${nf.connects} connects in ${nf.windowS.toFixed(nf.windowS >= 10 ? 0 : 1)} s (${rate.toFixed(1)}/s) to ${nf.peers} peer${nf.peers === 1 ? '' : 's'}` +
        (nf.already > 0 ? `; ${nf.already} to ${nf.peersAlready} peer${nf.peersAlready === 1 ? '' : 's'} that already had an established connection` : '; none to an already-connected peer'),
      )
      if (tickRate) notes.push(`${perPeerPerMinute.toFixed(0)} connects per already-connected peer per minute: a periodic tick re-joining peers, each one a pointless handshake`)
      if (stepUp || escalated) notes.push(`${stepUp ? 'one step up from its CPU share' : 'at least medium'}${connect.weight > 0 ? ` (${pct(share)} of CPU)` : ''}: ${repeatRate.toFixed(1)} pointless handshakes per second, a cost that grows with peers x tick rate`)
      if (nf.connects === 0 && share >= minShare) notes.push('no outgoing connects in the window: this handshake CPU is on the accepting side (peers connecting in)')
    } else {
      notes.push('no network evidence was available (this input has no capture data): connects to already-connected peers could not be counted; `meshprof capture` records them')
    }
    if (acceptW > 0 && acceptW >= 0.2 * connect.weight) {
      const roots = [...acceptRoots.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([n]) => n).join(', ')
      notes.push(`${pct(agg.share(acceptW))} of CPU is the accepting side of handshakes (${roots}): peers connecting in, each handshake started by a peer's caller`)
    }
    const cbShare = agg.share(callbackW)
    if (callbackW > 0 && callbackW >= 0.2 * connect.weight) {
      const roots = [...callbackRoots.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([n]) => shortName(n)).join(', ')
      notes.push(
        `${pct(cbShare)} of CPU is handshake work under socket callbacks (${roots}), not under the caller that started it` +
        (evidencePeriodic && nf?.topCaller ? `; the initiator stacks attribute it to ${nf.topCaller.chain}` : nf ? '' : '; the initiator stacks of a capture would name that caller'),
      )
    }
    const programW = p.meta.sourceFormat === 'cpuprofile' || p.meta.backend === 'inspector' ? agg.mask('program', (f) => f.kind === 'program' || f.name === '(program)').weight : 0
    if (programW > 0 && agg.share(programW) >= 0.05) {
      notes.push(`(program) holds another ${pct(agg.share(programW))}: Node runs much of the TLS crypto natively, outside the JS stacks (capture --native names it)`)
    }

    const c = connectCores
    const message = connect.weight > 0 || !nf
      ? `${pct(share)} of CPU in connect/handshake (${topPath})` + (c !== undefined ? ` = ${fmtCores(c)}` : '')
      : `${nf.already} connects to already-connected peers in ${nf.windowS.toFixed(1)} s (no CPU samples of them in this profile)`
    const stacks = agg.topStacks(connect.stacks, 3, (n) => trimStack(n.map(shortName)))
    const frames = new Set<string>()
    for (const path of [...paths.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3)) for (const n of pathFrames.get(path[0]) ?? []) frames.add(shortName(n))
    if (topCaller) for (const n of topCaller.raw) frames.add(shortName(n))
    const numbers: Record<string, number | string> = {
      connectShare: round(share),
      periodicShareOfConnect: round(periodicShareOfConnect),
      callbackShare: round(cbShare),
      periodicSource: evidencePeriodic ? 'initiator-stacks' : stackPeriodic ? 'stacks' : repeats ? 'repeated-connects' : recurring ? 'recurring-in-time' : 'none',
    }
    if (topCaller) numbers.periodicCaller = evidencePeriodic && nf?.topCaller ? nf.topCaller.chain : topCaller.chain
    if (coverage !== undefined) numbers.timeCoverage = round(coverage)
    if (nf) {
      numbers.connects = nf.connects
      numbers.connectsPerSecond = round(nf.windowS > 0 ? nf.connects / nf.windowS : 0, 2)
      numbers.alreadyConnectedPerSecond = round(repeatRate, 2)
      numbers.repeatsPerPeerPerMinute = round(perPeerPerMinute, 1)
      numbers.tickRate = tickRate ? 'yes' : 'no'
      numbers.peers = nf.peers
      numbers.alreadyConnectedConnects = nf.already
      numbers.peersAlreadyConnected = nf.peersAlready
      numbers.initiatorStacks = nf.withInitiator
      numbers.periodicConnects = nf.periodicConnects
      numbers.tlsConnects = nf.tls
      if (nf.intervalMs !== undefined) numbers.intervalMs = round(nf.intervalMs, 1)
      if (nf.topCaller) numbers.periodicCaller = nf.topCaller.chain
    }
    numbers.networkEvidence = nf ? 'yes' : 'no'
    numbers.window = secs(agg.window.durationNs)
    return [ctx.finding({ severity, share, weight: connect.weight, message, frames: [...frames], evidence: { stacks, numbers, notes } })]
  },
}


/** Where the connect CPU sits: per leaf stack, first/last connect frame and the periodic caller above. */
function connectSites(ctx: RuleContext, connect: StackMaskInfo) {
  const { agg, profile: p } = ctx
  const w = agg.stackWeights
  const paths = new Map<string, number>()
  const pathFrames = new Map<string, string[]>()
  const callerW = new Map<string, { w: number; periodicFrame: string; kind: CallerKind; chain: string; raw: string[] }>()
  let periodicW = 0
  let callbackW = 0
  const callbackRoots = new Map<string, number>()
  let acceptW = 0
  const acceptRoots = new Map<string, number>()
  const directW = new Map<string, number>()
  for (let s = 0; s < w.length; s++) {
    if (!connect.stacks[s] || w[s]! <= 0) continue
    // the process-name root of perf stacks (kind 'program': `connect-storm`) and a thread's root
    // ('[main]') are neither connect nor caller
    const names = stackFrames(p, s).map((f) => (p.frames[f]!.kind === 'program' || p.frames[f]!.kind === 'thread' ? '' : agg.frameNames[f]!))
    const info = callerInfo(names)
    if (!info) continue
    const path = info.first === info.last ? callerName(names[info.first]!) : `${callerName(names[info.first]!)} -> ${callerName(names[info.last]!)}`
    paths.set(path, (paths.get(path) ?? 0) + w[s]!)
    if (!pathFrames.has(path)) pathFrames.set(path, [names[info.first]!, names[info.last]!])
    const own = nearestOwnFrame(names, info.first)
    // the accepting side (peers' handshakes into this node, under accept_loop / a TLS acceptor) was
    // not started by any caller of this node, periodic or not
    // (the program's own function by its name; below it only a server-side TLS frame: a kernel frame
    // such as tcp_validate_incoming runs the loopback peer's receive path on a client's stack)
    const acceptAt = own >= 0 && isAcceptSideFrame(names[own]!) ? own : names.findIndex(isServerHandshakeFrame)
    if (acceptAt >= 0) {
      acceptW += w[s]!
      const root = callerName(names[acceptAt]!)
      acceptRoots.set(root, (acceptRoots.get(root) ?? 0) + w[s]!)
    } else if (info.periodic >= 0 && info.kind) {
      periodicW += w[s]!
      const key = callerChain(info.callers)
      const e = callerW.get(key)
      if (e) e.w += w[s]!
      else callerW.set(key, { w: w[s]!, periodicFrame: callerName(names[info.periodic]!), kind: info.kind, chain: key, raw: [names[info.periodic]!, ...info.callers] })
    } else {
      const cb = names.find((n) => SOCKET_CALLBACK_RE.test(n))
      if (cb) {
        callbackW += w[s]!
        callbackRoots.set(cb, (callbackRoots.get(cb) ?? 0) + w[s]!)
      } else {
        const key = callerChain(own >= 0 ? [names[own]!, names[info.first]!] : [names[info.first]!])
        directW.set(key, (directW.get(key) ?? 0) + w[s]!)
      }
    }
  }
  return { paths, pathFrames, callerW, periodicW, callbackW, callbackRoots, acceptW, acceptRoots, directW }
}

/** Recurring through the window (needs timestamps): the part of the used time slices holding connect CPU. */
function connectCoverage(ctx: RuleContext, connect: StackMaskInfo): { coverage?: number; slices: number } {
  const { agg, profile: p } = ctx
  let coverage: number | undefined
  let slices = 0
  const dur = agg.window.durationNs
  if (p.times && dur && dur > 0 && connect.weight > 0) {
    slices = Math.max(4, Math.min(20, Math.round(dur / 250e6)))
    const b = agg.buckets(slices, connect.stacks)
    if (b) {
      let hit = 0
      let used = 0
      for (let i = 0; i < slices; i++) {
        if (b.rows[i]! === 0) continue
        used++
        if (b.masked[i]! > 0) hit++
      }
      coverage = used > 0 ? hit / used : undefined
      slices = used
    }
  }
  return { coverage, slices }
}

function round(x: number, d = 4): number {
  const m = 10 ** d
  return Math.round(x * m) / m
}
