// Unit tests of the built-in rules on small hand-built profiles: each rule fires on its pattern, and
// stays quiet (no medium+ finding) on the look-alikes that must not be flagged.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { analyzeProfile, analyzeProfileDetailed, analyzeProfiles, severityRank, type Finding } from '../../src/analyze/index.js'
import type { ConnectEvent, NetworkEvidence } from '../../src/model/types.js'
import { folded, timeline, TIMER } from './helpers.js'
import { ProfileBuilder } from '../../src/model/builder.js'

const mediumPlus = (fs: Finding[]) => fs.filter((f) => severityRank(f.severity) >= severityRank('medium'))
const byRule = (fs: Finding[], id: string) => fs.filter((f) => f.ruleId === id)

// ---------------------------------------------------------------- connect-storm

const RUST_TRACING_FLAME = [
  'tracing; mesh_node::gossip::run_gossip:src/gossip.rs:88; iroh::endpoint::connect:/root/.cargo/registry/src/iroh-0.90/src/endpoint.rs:512 61800000',
  'tracing; mesh_node::gossip::run_gossip:src/gossip.rs:88 1200000',
  'tracing; mesh_node::net::run_frame_reader:src/net.rs:40; mesh_node::net::decode_frame:src/net.rs:77 9000000',
  'tracing; mesh_node::telemetry::export_batch:src/telemetry.rs:12 3000000',
  'tracing 25000000',
].join('\n') + '\n'

test('connect-storm: Rust tracing-flame folded file, iroh::endpoint::connect under run_gossip, is flagged without network evidence', async () => {
  const p = await folded(RUST_TRACING_FLAME)
  const f = byRule(analyzeProfile(p), 'connect-storm')
  assert.equal(f.length, 1)
  assert.equal(f[0]!.severity, 'high')
  assert.ok(Math.abs(f[0]!.share - 0.618) < 0.001, String(f[0]!.share))
  assert.match(f[0]!.message, /61\.8% of CPU in connect\/handshake \(iroh::endpoint::connect\)/)
  assert.ok(f[0]!.evidence.notes.some((n) => /run_gossip/.test(n)), f[0]!.evidence.notes.join('\n'))
  assert.ok(f[0]!.evidence.notes.some((n) => /no network evidence was available/.test(n)))
  assert.equal(f[0]!.evidence.numbers.networkEvidence, 'no')
  assert.ok(f[0]!.frames.includes('iroh::endpoint::connect'))
  assert.deepEqual(f[0]!.evidence.stacks[0]!.frames, ['tracing', 'mesh_node::gossip::run_gossip', 'iroh::endpoint::connect'])
  assert.equal(f[0]!.cpuCores, undefined, 'a folded file knows no window: no cores claimed')
})

test('connect-storm: V8-like storm under a timer tick is high and names the caller', () => {
  // every 100 ms: 40 ms of runGossip -> joinPeers -> connectPeer -> connect, then 15 ms of afterConnect handshakes
  const p = timeline({
    durationMs: 3000,
    at: (t) => {
      const ph = t % 100
      if (ph < 40) return `${TIMER};runGossip;joinPeers;connectPeer;connect;createSecureContext`
      if (ph < 55) return 'afterConnect;emit;onceWrapper;TLSSocket._start'
      if (ph < 60) return `${TIMER};runGossip;emitGossip`
      return '(idle)'
    },
  })
  const f = byRule(analyzeProfile(p), 'connect-storm')
  assert.equal(f.length, 1)
  assert.equal(f[0]!.severity, 'high')
  // shares are of the on-CPU samples: 55 of every 60 busy ms; cores = share x 0.60 busy cores
  assert.ok(Math.abs(f[0]!.share - 0.55 / 0.6) < 0.01, String(f[0]!.share))
  assert.ok(Math.abs(f[0]!.cpuCores! - 0.55) < 0.01)
  // the caller runs from the timer's function to the program's own join (as the initiator stacks name it)
  assert.match(f[0]!.evidence.notes[0]!, /periodic caller: runGossip -> joinPeers \(timer listOnTimeout\)/)
  assert.ok(f[0]!.evidence.notes.some((n) => /under socket callbacks \(afterConnect\)/.test(n)), f[0]!.evidence.notes.join('\n'))
  assert.equal(f[0]!.evidence.numbers.periodicSource, 'stacks')
})

test('connect-storm: a healthy, mostly idle node with one rare reconnect gets no medium+ finding (V8, idle recorded)', () => {
  const p = timeline({
    durationMs: 15000,
    at: (t) => {
      if (t >= 7000 && t < 7030) return t < 7010 ? `${TIMER};runGossip;ensurePeers;connectPeer;connect` : 'afterConnect;emit;TLSSocket._start'
      if (t % 100 < 2) return `${TIMER};runGossip;emitGossip;Socket.write`
      return '(idle)'
    },
  })
  const fs = analyzeProfile(p)
  assert.deepEqual(mediumPlus(fs), [])
  assert.deepEqual(byRule(fs, 'connect-storm'), [], 'the reconnect is 0.2% of all samples: below minShare')
})

test('connect-storm: the same healthy node profiled by perf (on-CPU samples only, window known) gets no medium+ finding', () => {
  // Only busy samples exist: the reconnect is 30 of 330 samples (9%) of the CPU, but 0.002 cores (below
  // connect-storm.minCores) and nothing shows a tick re-connecting: not reported.
  const p = timeline({
    v8: false,
    durationMs: 15000,
    meta: { name: 'mesh-node-1' },
    at: (t) => {
      if (t >= 7000 && t < 7030) return 'mesh-node;main;run_gossip;join_peers;SSL_do_handshake'
      if (t % 100 < 2) return 'mesh-node;main;run_gossip;emit_gossip;write'
      return ''
    },
  })
  const a = analyzeProfileDetailed(p)
  assert.equal(a.denominator, a.total, 'shares are of the on-CPU samples (perf records nothing else)')
  assert.ok(a.window.cores! > 0.02 && a.window.cores! < 0.025, `cores from on-CPU samples over the window: ${a.window.cores}`)
  assert.deepEqual(mediumPlus(a.findings), [])
  assert.deepEqual(byRule(a.findings, 'connect-storm'), [])
})

function evidence(opts: { connects: number; periodic: boolean; already: boolean }): NetworkEvidence {
  const peers = ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003']
  const connects: ConnectEvent[] = []
  for (let i = 0; i < opts.connects; i++) {
    connects.push({
      t: 100 * Math.floor(i / peers.length) + 1,
      remote: peers[i % peers.length]!,
      tls: true,
      alreadyConnected: opts.already,
      initiator: opts.periodic
        ? ['processTimers', 'listOnTimeout', 'runGossip', 'joinPeers', 'connectPeer', 'connect', 'Object.connect']
        : ['processTicksAndRejections', 'onMessage', 'connectPeer', 'connect'],
    })
  }
  return { source: 'node-diagnostics-channel', windowMs: 3000, connects, snapshots: [{ t: 0, remotes: peers }, { t: 3000, remotes: peers }] }
}

test('connect-storm: with network evidence, afterConnect-rooted handshake CPU is attributed to the periodic initiator', () => {
  // In Node the handshake CPU sits under afterConnect / onConnectSecure, with no timer on the stack.
  const p = timeline({
    durationMs: 3000,
    at: (t) => {
      const ph = t % 100
      if (ph < 30) return 'ssl.onhandshakedone;TLSSocket._finishInit;emit;onConnectSecure;TLSSocket.getPeerCertificate'
      if (ph < 40) return 'afterConnect;emit;onceWrapper;TLSSocket._start'
      return '(idle)'
    },
    network: evidence({ connects: 90, periodic: true, already: true }),
  })
  const f = byRule(analyzeProfile(p), 'connect-storm')
  assert.equal(f.length, 1)
  assert.equal(f[0]!.severity, 'high')
  const n = f[0]!.evidence.numbers
  assert.equal(n.periodicSource, 'initiator-stacks')
  assert.equal(n.connects, 90)
  assert.equal(n.alreadyConnectedConnects, 90)
  assert.equal(n.peersAlreadyConnected, 3)
  assert.equal(n.intervalMs, 100)
  assert.equal(n.periodicCaller, 'runGossip -> joinPeers')
  assert.match(f[0]!.evidence.notes.join('\n'), /started from a periodic caller: runGossip -> joinPeers \(timer listOnTimeout, every ~100 ms\)/)
  assert.match(f[0]!.evidence.notes.join('\n'), /90 connects in 3\.0 s \(30\.0\/s\) to 3 peers; 90 to 3 peers that already had an established connection/)
  assert.match(f[0]!.evidence.notes.join('\n'), /the initiator stacks attribute it to runGossip -> joinPeers/)
})

test('connect-storm: the same callback-only CPU without evidence and in one burst is at most low', () => {
  const p = timeline({
    durationMs: 3000,
    at: (t) => (t >= 1000 && t < 1400 ? (t % 2 ? 'afterConnect;emit;TLSSocket._start' : 'ssl.onhandshakedone;onConnectSecure') : '(idle)'),
  })
  const f = byRule(analyzeProfile(p), 'connect-storm')
  assert.equal(f.length, 1)
  assert.equal(f[0]!.severity, 'low')
  assert.match(f[0]!.evidence.notes[0]!, /no periodic caller found/)
})

test('connect-storm: thresholds can be overridden', async () => {
  const p = await folded(RUST_TRACING_FLAME)
  assert.deepEqual(byRule(analyzeProfile(p, { thresholds: { 'connect-storm.minShare': 0.7 } }), 'connect-storm'), [])
  const f = byRule(analyzeProfile(p, { thresholds: { 'connect-storm.highShare': 0.9 } }), 'connect-storm')
  assert.equal(f[0]!.severity, 'medium')
  assert.throws(() => analyzeProfile(p, { thresholds: { 'connect-storm.nope': 1 } }), /no threshold 'nope'.*minShare/)
  assert.throws(() => analyzeProfile(p, { thresholds: { 'no-such-rule.minShare': 1 } }), /no rule 'no-such-rule'/)
})

test('connect-storm: the process-name root of a perf stack (named connect-storm) is neither connect work nor the caller', () => {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }], { name: 'connect-storm', sourceFormat: 'perf-script', durationNs: 1e9, periodNs: 1e7 })
  const comm = b.internFrame({ name: 'connect-storm', kind: 'program' })
  const chainOf = (...names: string[]) => b.stackFromFrames([comm, ...names.map((n) => b.internName(n, 'native'))])
  b.addSample(chainOf('main', 'run_gossip', 'join_peers', 'connect_peer', 'do_handshake'), 60)
  b.addSample(chainOf('main', 'run_gossip', 'emit'), 40)
  const f = byRule(analyzeProfile(b.build()), 'connect-storm')
  assert.equal(f.length, 1)
  assert.equal(f[0]!.share, 0.6)
  assert.equal(f[0]!.evidence.numbers.periodicCaller, 'run_gossip -> join_peers')
  assert.match(f[0]!.message, /\(join_peers -> do_handshake\)/)
  const quiet = new ProfileBuilder([{ type: 'samples', unit: 'count' }], { sourceFormat: 'perf-script' })
  const c2 = quiet.internFrame({ name: 'connect-storm', kind: 'program' })
  quiet.addSample(quiet.stackFromFrames([c2, quiet.internName('main'), quiet.internName('compute')]), 100)
  assert.deepEqual(byRule(analyzeProfile(quiet.build()), 'connect-storm'), [])
})

test('connect-storm: "Connection" as a noun (I/O on an established connection) is not connect work', async () => {
  const p = await folded('main;MemcachedConnection::run;MemcachedConnection::handleReads 90\nmain;idle 10\n')
  assert.deepEqual(byRule(analyzeProfile(p), 'connect-storm'), [])
})

// ---------------------------------------------------------------- busy-wait

test('busy-wait: a setImmediate re-poll loop (V8: short idle between turns ends in processImmediate) is high', () => {
  const p = timeline({
    durationMs: 3000,
    at: (t, i) => {
      if (i % 3 === 2) return '(idle)' // the poll phase with timeout 0, never a real wait
      if (i % 50 === 0) return `${TIMER};runGossip;emitGossip`
      return 'processImmediate;selectLoop;recvEvent'
    },
  })
  const f = byRule(analyzeProfile(p), 'busy-wait')
  assert.equal(f.length, 1, JSON.stringify(analyzeProfileDetailed(p).skipped))
  assert.equal(f[0]!.severity, 'high')
  assert.equal(f[0]!.cpuCores, 1)
  assert.match(f[0]!.message, /one loop path holds a whole core with no blocking: processImmediate -> selectLoop -> recvEvent/)
  assert.equal(f[0]!.evidence.numbers.repollFrame, 'processImmediate')
  assert.match(f[0]!.evidence.notes.join('\n'), /the event loop never waited for an event/)
})

test('busy-wait: no finding from crumbs: an idle main thread (the CPU burnt by a worker) with a few re-poll samples', () => {
  // 4 s, the process measured at 1.08 cores (a worker hashing), the main thread idle but for 0.1% of
  // its samples, all on one re-poll path: 100% of the busy samples, 0.1% of all
  const p = timeline({
    durationMs: 4000, meta: { cpuTimeNs: 4.34e9 },
    at: (_t, i) => (i % 1000 === 0 ? 'processImmediate;selectLoop;recvEvent' : '(idle)'),
  })
  assert.deepEqual(byRule(analyzeProfile(p), 'busy-wait'), [])
  // the floor is what keeps it quiet: without it the crumbs pass every other gate
  const open = byRule(analyzeProfile(p, { thresholds: { 'busy-wait.minPathShareOfAll': 0 } }), 'busy-wait')
  assert.equal(open.length, 1)
  assert.equal(open[0]!.evidence.numbers.pathShareOfBusy, 1)
  assert.ok((open[0]!.evidence.numbers.pathShareOfAll as number) < 0.01)
})

test('busy-wait: a busy but healthy node that waits between ticks is not flagged', () => {
  const p = timeline({
    durationMs: 3000,
    at: (t) => (t % 100 < 70 ? `${TIMER};runGossip;computeView` : '(idle)'),
  })
  assert.deepEqual(byRule(analyzeProfile(p), 'busy-wait'), [])
})

test('busy-wait: native (perf) spin on try_recv holding a core with no futex/park is high; with parking it is not', () => {
  const spin = timeline({
    v8: false, durationMs: 2000, meta: { cpuTimeNs: 1.98e9 },
    at: (_t, i) => (i % 10 === 0 ? 'mesh-node;main;run_event_loop;handle' : 'mesh-node;main;run_event_loop;crossbeam::channel::Receiver::try_recv'),
  })
  const f = byRule(analyzeProfile(spin), 'busy-wait')
  assert.equal(f.length, 1)
  assert.equal(f[0]!.severity, 'high')
  assert.match(f[0]!.evidence.numbers.repollFrame as string, /try_recv/)
  const parked = timeline({
    v8: false, durationMs: 2000, meta: { cpuTimeNs: 1.9e9 },
    at: (_t, i) => (i % 5 === 0 ? 'mesh-node;main;run_event_loop;std::thread::park;futex_wait' : 'mesh-node;main;run_event_loop;crossbeam::channel::Receiver::try_recv'),
  })
  assert.deepEqual(byRule(analyzeProfile(parked), 'busy-wait'), [])
})

test('busy-wait: a file without window or CPU time says it could not check', async () => {
  const a = analyzeProfileDetailed(await folded('main;loop;poll 100\n'))
  assert.deepEqual(byRule(a.findings, 'busy-wait'), [])
  assert.match(a.skipped.find((s) => s.ruleId === 'busy-wait')!.reason, /cannot tell whether a core is held/)
})

// ---------------------------------------------------------------- ghost-connections

function withSnapshots(snaps: string[][], connects: ConnectEvent[] = []) {
  return timeline({
    durationMs: 3000,
    at: (t) => (t % 100 < 5 ? `${TIMER};runGossip` : '(idle)'),
    network: { source: 'proc-net', windowMs: 3000, connects, snapshots: snaps.map((remotes, i) => ({ t: (i * 3000) / (snaps.length - 1), remotes })) },
  })
}

test('ghost-connections: established connections per peer that grow over the window are flagged', () => {
  const A = '127.0.0.1:7001'
  const B = '127.0.0.1:7002'
  const p = withSnapshots([[A, B], [A, A, B], [A, A, A, B, B], [A, A, A, A, B, B]], [{ t: 1000, remote: A, tls: true, alreadyConnected: true }])
  const f = byRule(analyzeProfile(p), 'ghost-connections')
  assert.equal(f.length, 1)
  assert.equal(f[0]!.severity, 'medium')
  assert.equal(f[0]!.evidence.numbers.growth, 4)
  assert.equal(f[0]!.share, 0)
  assert.match(f[0]!.message, /established connections to 2 peers grew from 2 to 6 during the window \(\+4\)/)
  assert.match(f[0]!.evidence.notes[0]!, /127\.0\.0\.1:7001 1 -> 4/)
})

test('ghost-connections: a reconnect that briefly holds two connections is not flagged', () => {
  const A = '127.0.0.1:7001'
  const B = '127.0.0.1:7002'
  assert.deepEqual(byRule(analyzeProfile(withSnapshots([[A, B], [A, A, B], [A, B]])), 'ghost-connections'), [])
  assert.deepEqual(byRule(analyzeProfile(withSnapshots([[A, B], [A, A, B]])), 'ghost-connections'), [], 'one extra connection at one instant')
})

test('ghost-connections: without network evidence the rule says so and reports nothing', async () => {
  const a = analyzeProfileDetailed(await folded(RUST_TRACING_FLAME))
  assert.deepEqual(byRule(a.findings, 'ghost-connections'), [])
  assert.match(a.skipped.find((s) => s.ruleId === 'ghost-connections')!.reason, /no network evidence/)
})

test('ghost-connections: growth across two captures of the same process', () => {
  const A = '127.0.0.1:7001'
  const mk = (start: number, remotes: string[]) => {
    const p = withSnapshots([remotes, remotes])
    return { ...p, meta: { ...p.meta, pid: 4242, command: 'node mesh.js', startTimeNs: start } }
  }
  const r = analyzeProfiles([
    { input: 'a.capture.json', profile: mk(1e18, [A]) },
    { input: 'b.capture.json', profile: mk(1e18 + 600e9, [A, A, A, A]) },
  ])
  const cross = r.findings.filter((f) => f.profile === null)
  assert.equal(cross.length, 1)
  assert.equal(cross[0]!.ruleId, 'ghost-connections')
  assert.deepEqual(cross[0]!.profiles, [0, 1])
  assert.match(cross[0]!.message, /across 2 captures/)
  assert.equal(r.findings.filter((f) => f.profile !== null && f.ruleId === 'ghost-connections').length, 0)
})

// ---------------------------------------------------------------- telemetry-growth

test('telemetry-growth: exporter CPU that grows through the window is flagged', () => {
  const dur = 6000
  const p = timeline({
    durationMs: dur,
    at: (t, i) => {
      const frac = 0.3 * (t / dur) // 0% -> 30% of the samples
      if ((i * 0.618) % 1 < frac) return `${TIMER};exportTick;BatchSpanProcessor.exportSpans;serializeEvent`
      if (t % 100 < 5) return `${TIMER};runGossip`
      return '(idle)'
    },
  })
  const f = byRule(analyzeProfile(p), 'telemetry-growth')
  assert.equal(f.length, 1)
  assert.ok(severityRank(f[0]!.severity) >= severityRank('medium'), f[0]!.severity)
  const n = f[0]!.evidence.numbers
  assert.ok((n.lastThirdShare as number) > 4 * (n.firstThirdShare as number), JSON.stringify(n))
  assert.ok((n.z as number) > 10)
  assert.ok(f[0]!.frames.some((x) => /exportSpans|serializeEvent|exportTick/.test(x)), f[0]!.frames.join())
})

test('telemetry-growth: a steady telemetry cost is not growth', () => {
  const p = timeline({
    durationMs: 6000,
    at: (_t, i) => (i % 10 === 0 ? `${TIMER};exportTick;exportSpans` : i % 10 < 4 ? `${TIMER};runGossip` : '(idle)'),
  })
  assert.deepEqual(byRule(analyzeProfile(p), 'telemetry-growth'), [])
})

test('telemetry-growth: needs timestamps, says so otherwise', async () => {
  const a = analyzeProfileDetailed(await folded(RUST_TRACING_FLAME))
  assert.match(a.skipped.find((s) => s.ruleId === 'telemetry-growth')!.reason, /no per-sample timestamps/)
})

// ---------------------------------------------------------------- gc-pressure

test('gc-pressure: GC share above the thresholds', async () => {
  const heavy = byRule(analyzeProfile(await folded('(garbage collector) 40\nmain;work 60\n')), 'gc-pressure')
  assert.equal(heavy.length, 1)
  assert.equal(heavy[0]!.severity, 'high')
  assert.equal(heavy[0]!.share, 0.4)
  assert.deepEqual(heavy[0]!.frames, ['(garbage collector)'])
  assert.deepEqual(byRule(analyzeProfile(await folded('(garbage collector) 3\nmain;work 97\n')), 'gc-pressure'), [])
  const go = byRule(analyzeProfile(await folded('main;decode;runtime.mallocgc;runtime.gcDrain 15\nmain;work 85\n')), 'gc-pressure')
  assert.equal(go[0]!.severity, 'low')
  assert.match(go[0]!.evidence.notes[0]!, /GC entered from: decode/)
})

// ---------------------------------------------------------------- engine

test('findings are sorted by severity, then share; shares are of the on-CPU samples', async () => {
  // `main;idle` is a function named idle (CPU), not the profiler's (idle): all 100 samples are on-CPU
  const p = await folded('main;gossip_tick;dial 30\n(garbage collector) 40\nmain;idle 30\n')
  const fs = analyzeProfile(p)
  // connect work at 30% of the CPU is below highShare (0.5, the majority of the node's CPU): medium
  assert.deepEqual(fs.map((f) => [f.ruleId, f.severity, f.share]), [['gc-pressure', 'high', 0.4], ['connect-storm', 'medium', 0.3]])
  // (idle) samples are not CPU: the same work next to 100 idle samples has the same shares
  const withIdle = analyzeProfile(await folded('main;gossip_tick;dial 30\n(garbage collector) 40\nmain;idle 30\n(idle) 100\n'))
  assert.deepEqual(withIdle.map((f) => [f.ruleId, f.severity, f.share]), [['gc-pressure', 'high', 0.4], ['connect-storm', 'medium', 0.3]])
})

// ---------------------------------------------------------------- issue 9 / 15: severity follows cost and pointlessness

/** Connects every `everyMs` to each of `peers`, all to peers that were already connected. */
function reconnects(peers: number, everyMs: number, windowMs: number, periodic = true): NetworkEvidence {
  const remotes = Array.from({ length: peers }, (_, i) => `127.0.0.1:${7001 + i}`)
  const connects: ConnectEvent[] = []
  for (let t = 10; t < windowMs; t += everyMs) {
    for (const remote of remotes) {
      connects.push({ t, remote, tls: true, alreadyConnected: true, initiator: periodic ? ['processTimers', 'listOnTimeout', 'runGossip', 'joinPeers', 'connectPeer', 'connect'] : ['processTimers', 'listOnTimeout', 'recycleConnections', 'recyclePeer', 'connectPeer', 'connect'] })
    }
  }
  return { source: 'node-diagnostics-channel', windowMs, connects, snapshots: [{ t: 0, remotes }, { t: windowMs, remotes }] }
}

test('connect-storm: a node at 5% of a core with 90% of it in handshakes to connected peers at tick rate is HIGH', () => {
  // 100 ms tick to 5 peers; the node is mostly idle and the OS measured 0.05 cores for it
  const p = timeline({
    durationMs: 3000,
    meta: { cpuTimeNs: 0.05 * 3e9 },
    at: (t) => (t % 100 < 9 ? 'ssl.onhandshakedone;TLSSocket._finishInit;onConnectSecure' : t % 100 < 10 ? `${TIMER};runGossip;emitGossip` : '(idle)'),
    network: reconnects(5, 100, 3000),
  })
  const [f] = byRule(analyzeProfile(p), 'connect-storm')
  assert.ok(f, 'not flagged')
  assert.equal(f.severity, 'high', f.evidence.notes.join('\n'))
  assert.ok(Math.abs(f.share - 0.9) < 0.01, String(f.share))
  assert.ok(Math.abs(f.cpuCores! - 0.045) < 0.001, `cores = share x measured CPU: ${f.cpuCores}`)
  assert.equal(f.evidence.numbers.tickRate, 'yes')
})

test('connect-storm: make-before-break recycling every 3 s is info at most, even at a large share of a small CPU', () => {
  const p = timeline({
    durationMs: 6000,
    meta: { cpuTimeNs: 0.03 * 6e9 },
    at: (t) => (t % 3000 < 40 ? 'ssl.onhandshakedone;onConnectSecure' : t % 100 < 1 ? `${TIMER};runGossip;emitGossip` : '(idle)'),
    network: reconnects(17, 3000, 6000, false),
  })
  const fs = analyzeProfile(p)
  const [f] = byRule(fs, 'connect-storm')
  assert.ok(f, 'the recycling is explained as an info note')
  assert.equal(f.severity, 'info')
  assert.match(f.evidence.notes[0]!, /connection recycling \(make-before-break\)/)
  assert.deepEqual(mediumPlus(fs), [])
  assert.ok(!fs.some((x) => x.severity === 'low'))
})

test('connect-storm: several nodes together state the mesh-wide cost', () => {
  const node = (i: number) => timeline({
    durationMs: 3000,
    meta: { cpuTimeNs: 0.05 * 3e9, pid: 100 + i, name: `n${i}` },
    at: (t) => (t % 100 < 9 ? 'ssl.onhandshakedone;onConnectSecure' : t % 100 < 10 ? `${TIMER};runGossip;emitGossip` : '(idle)'),
    network: reconnects(5, 100, 3000),
  })
  const r = analyzeProfiles([0, 1, 2].map((i) => ({ input: `n${i}`, profile: node(i) })))
  const storms = r.findings.filter((f) => f.ruleId === 'connect-storm')
  assert.equal(storms.length, 3)
  for (const f of storms) assert.match(f.evidence.notes.join('\n'), /mesh-wide: 3 nodes x 0\.045 cores = 0\.14 cores in pointless handshakes/)
})

test('busy-wait: a saturated HTTP server (nextTick machinery over parsing and writes) is not a spin; the re-poll loop is', () => {
  const server = timeline({
    durationMs: 3000,
    meta: { cpuTimeNs: 2.97e9 },
    at: (_t, i) => (i % 3 === 0
      ? 'processTicksAndRejections;endReadableNT;emit;(anonymous);end;Writable.uncork;clearBuffer;writevGeneric;writev'
      : i % 3 === 1 ? 'processTicksAndRejections;endReadableNT;emit;(anonymous);JSON.parse' : 'processTicksAndRejections;endReadableNT;emit;(anonymous);handleOrder;digest'),
  })
  assert.deepEqual(byRule(analyzeProfile(server), 'busy-wait'), [])
  // the same gates, a loop with nothing under it but a receive that comes back empty
  const spin = timeline({
    durationMs: 3000,
    meta: { cpuTimeNs: 2.97e9 },
    at: (_t, i) => (i % 2 ? 'processImmediate;selectLoop;recvEvent' : 'processImmediate;selectLoop'),
  })
  const [f] = byRule(analyzeProfile(spin), 'busy-wait')
  assert.equal(f?.severity, 'high')
})
