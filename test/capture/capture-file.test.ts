// The capture-file importer: raw profile through the registry, metadata, network evidence round
// trip (stack table expanded), mesh.json, partial captures, hostile references.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadProfiles } from '../../src/formats/index.js'
import { captureImporter } from '../../src/formats/capture-file.js'
import { totalWeight, weightedStacks } from '../../src/model/ops.js'
import { validateProfile } from '../../src/model/builder.js'
import { meshprof, tmp } from './helpers.js'
import { isCleanFailure } from '../helpers/cli.js'

/** A tiny but real .cpuprofile: root -> runGossip -> joinPeers (hot), root -> (idle). */
function cpuprofile(): object {
  return {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 4] },
      { id: 2, callFrame: { functionName: 'runGossip', scriptId: '1', url: 'file:///app/node.js', lineNumber: 10, columnNumber: 2 }, children: [3] },
      { id: 3, callFrame: { functionName: 'joinPeers', scriptId: '1', url: 'file:///app/node.js', lineNumber: 20, columnNumber: 2 } },
      { id: 4, callFrame: { functionName: '(idle)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 } },
    ],
    startTime: 1000,
    endTime: 1000 + 6 * 2000,
    samples: [3, 3, 3, 4, 3, 4],
    timeDeltas: [2000, 2000, 2000, 2000, 2000, 2000],
  }
}

function network(): object {
  return {
    source: 'node-probe',
    windowMs: 2000,
    stacks: [['listOnTimeout (node:internal/timers:594:17)', 'runGossip (/app/node.js:11:3)', 'joinPeers (/app/node.js:21:3)', 'connectPeer (/app/node.js:30:5)']],
    connects: [
      { t: 100, remote: '127.0.0.1:4001', tls: true, initiator: 0, alreadyConnected: true },
      { t: 200, remote: '127.0.0.1:4001', tls: true, initiator: ['inline', 'stack'], alreadyConnected: false },
      { t: 300, remote: '127.0.0.1:4002', tls: false },
    ],
    snapshots: [{ t: 0, remotes: ['127.0.0.1:4001'] }, { t: 2000, remotes: ['127.0.0.1:4001', '127.0.0.1:4001'] }],
    droppedConnects: 7,
  }
}

function writeCapture(dir: string, name: string, pid: number, extra: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `node-${pid}.cpuprofile`), JSON.stringify(cpuprofile()))
  const cap = {
    meshprof: 'capture',
    version: 1,
    process: { pid, command: 'node mesh.js', name, backend: 'inspector', startTimeMs: 1763900000000, durationMs: 2000, rateHz: 500, cpuTimeNs: 123456789, partial: false },
    profile: { format: 'cpuprofile', file: `node-${pid}.cpuprofile` },
    network: network(),
    warnings: [],
    ...extra,
  }
  const path = join(dir, `${name}-${pid}.capture.json`)
  writeFileSync(path, JSON.stringify(cap, null, 1))
  return path
}

describe('capture file importer', () => {
  test('detects the format by content and loads the raw profile with the capture metadata', async () => {
    const dir = tmp('capfile')
    const path = writeCapture(dir, 'mesh-node-3', 4242)
    const { format, profiles } = await loadProfiles(path)
    assert.equal(format, 'capture')
    assert.equal(profiles.length, 1)
    const p = profiles[0]!
    assert.equal(p.meta.pid, 4242)
    assert.equal(p.meta.name, 'mesh-node-3')
    assert.equal(p.meta.command, 'node mesh.js')
    assert.equal(p.meta.backend, 'inspector')
    assert.equal(p.meta.durationNs, 2000e6)
    assert.equal(p.meta.cpuTimeNs, 123456789)
    assert.equal(p.meta.periodNs, 2e6)
    assert.equal(p.meta.startTimeNs, 1763900000000e6)
    assert.equal(p.meta.extra?.capture, path)
    assert.ok(p.frames.some((f) => f.name === 'joinPeers'))
    assert.ok(totalWeight(p) > 0)
  })

  test('network evidence round-trips: stack table expanded, inline stacks kept, counts honest', async () => {
    const path = writeCapture(tmp('capnet'), 'n', 7)
    const p = (await loadProfiles(path)).profiles[0]!
    const n = p.network!
    assert.equal(n.source, 'node-probe')
    assert.equal(n.windowMs, 2000)
    assert.equal(n.droppedConnects, 7)
    assert.equal(n.connects.length, 3)
    assert.deepEqual(n.connects[0], { t: 100, remote: '127.0.0.1:4001', tls: true, initiator: (network() as any).stacks[0], alreadyConnected: true })
    assert.deepEqual(n.connects[1]!.initiator, ['inline', 'stack'])
    assert.equal(n.connects[2]!.initiator, undefined)
    assert.equal(n.connects[2]!.alreadyConnected, undefined)
    assert.deepEqual(n.snapshots[1], { t: 2000, remotes: ['127.0.0.1:4001', '127.0.0.1:4001'] })
  })

  test('mesh.json yields one profile per capture', async () => {
    const dir = tmp('capmesh')
    writeCapture(dir, 'a', 1)
    writeCapture(dir, 'b', 2)
    writeFileSync(join(dir, 'mesh.json'), JSON.stringify({ meshprof: 'mesh-capture', version: 1, captures: ['a-1.capture.json', 'b-2.capture.json'] }))
    const { profiles } = await loadProfiles(join(dir, 'mesh.json'))
    assert.deepEqual(profiles.map((p) => p.meta.pid), [1, 2])
    assert.ok(profiles.every((p) => p.network))
  })

  test('a partial capture without a profile loads as an empty profile that keeps its network evidence', async () => {
    const dir = tmp('cappartial')
    const path = writeCapture(dir, 'gone', 9, { profile: undefined, warnings: ['no CPU profile: pid 9 went away'] })
    const warnings: string[] = []
    const p = (await loadProfiles(path, { warn: (m) => warnings.push(m) })).profiles[0]!
    assert.equal(p.sampleStack.length, 0)
    assert.equal(p.network!.connects.length, 3)
    assert.equal(p.meta.extra?.partial, false)
    assert.match(warnings[0]!, /holds no CPU profile/)
  })

  test('references outside the capture directory and broken evidence are refused (exit 4)', async () => {
    const dir = tmp('caphostile')
    const bad = writeCapture(dir, 'x', 1, { profile: { format: 'cpuprofile', file: '../../etc/passwd' } })
    const r = await meshprof(['top', bad])
    assert.equal(r.code, 4)
    assert.ok(isCleanFailure(r as never), r.stderr)
    assert.match(r.stderr, /profile\.file must be a file in the same directory or below it/)
    const bad2 = writeCapture(dir, 'y', 2, { network: { ...network(), connects: [{ t: 1, remote: 'r', initiator: 99 }] } })
    const r2 = await meshprof(['top', bad2])
    assert.equal(r2.code, 4)
    assert.match(r2.stderr, /initiator 99 is not in the stack table/)
    const bad3 = join(dir, 'm.json')
    writeFileSync(bad3, JSON.stringify({ meshprof: 'mesh-capture', version: 1, captures: ['/etc/passwd'] }))
    const r3 = await meshprof(['top', bad3])
    assert.equal(r3.code, 4)
  })

  test('a capture whose raw profile is missing: exit 3 naming the file', async () => {
    const dir = tmp('capmissing')
    const path = writeCapture(dir, 'z', 3, { profile: { format: 'cpuprofile', file: 'node-999.cpuprofile' } })
    const r = await meshprof(['top', path])
    assert.equal(r.code, 3, r.stderr)
    assert.match(r.stderr, /node-999\.cpuprofile/)
  })

  test('worker threads: one root per thread ([main], [worker N] name), idle outside the roots, times on the window clock, thread filter', async () => {
    const dir = tmp('capworkers')
    // the worker's own profile: root -> hashLoop (hot) -> fnv, started 500 ms into the window
    writeFileSync(join(dir, 'node-7.worker-2.cpuprofile'), JSON.stringify({
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2] },
        { id: 2, callFrame: { functionName: 'hashLoop', scriptId: '1', url: 'file:///app/w.js', lineNumber: 1, columnNumber: 0 }, children: [3] },
        { id: 3, callFrame: { functionName: 'fnv', scriptId: '1', url: 'file:///app/w.js', lineNumber: 5, columnNumber: 0 } },
      ],
      startTime: 5000, endTime: 5000 + 5 * 2000, samples: [3, 3, 3, 2], timeDeltas: [2000, 2000, 2000, 2000],
    }))
    const path = writeCapture(dir, 'pool', 7, {
      workers: [
        { threadId: 2, name: 'hasher', tid: 12, startMs: 500, fromStart: true, profile: { format: 'cpuprofile', file: 'node-7.worker-2.cpuprofile' } },
        { threadId: 3, name: '', startMs: 0, fromStart: false, lost: 'the worker exited' },
      ],
    })
    const p = (await loadProfiles(path)).profiles[0]!
    assert.deepEqual(validateProfile(p), [])
    assert.equal(p.meta.pid, 7)
    const roots = new Set<string>()
    for (const { frames } of weightedStacks(p)) roots.add(`${p.frames[frames[0]!]!.kind} ${p.frames[frames[0]!]!.name}`)
    assert.deepEqual([...roots].sort(), ['idle (idle)', 'thread [main]', 'thread [worker 2] hasher'])
    // the main thread's 4 joinPeers samples, the worker's 4, the main's 2 idle: nothing lost or doubled
    const busy = (name: string) => [...weightedStacks(p, 0)].filter((x) => p.frames[x.frames[0]!]!.name === name).reduce((a, x) => a + x.weight, 0)
    assert.equal(busy('[main]'), 4)
    assert.equal(busy('[worker 2] hasher'), 4)
    assert.equal(busy('(idle)'), 2)
    // the worker's rows sit on the window's clock: after its start, 500 ms in
    const rows = [...p.sampleStack.keys()].filter((r) => p.labels?.at(r)?.thread === '[worker 2] hasher')
    assert.equal(rows.length, 4)
    assert.ok(rows.every((r) => p.times![r]! >= 500e6), JSON.stringify(rows.map((r) => p.times![r])))
    // --thread keeps one thread, listing them when none matches
    const w = await meshprof(['top', path, '--thread', 'hasher', '--json'])
    assert.deepEqual(JSON.parse(w.stdout).rows.map((x: any) => `${x.name} ${x.self}`).slice(0, 2).sort(), ['fnv 6000000', 'hashLoop 2000000'])
    const none = await meshprof(['top', path, '--thread', 'nope'])
    assert.equal(none.code, 2)
    assert.match(none.stderr, /no thread matches; threads: \[main\], \[worker 2\] hasher/)
    // a directory where only one capture has the thread: kept there, the other keeps no samples
    writeCapture(dir, 'plain', 11)
    const fg = await meshprof(['flamegraph', dir, '--thread', 'hasher', '-o', join(dir, 'fg.html')])
    assert.equal(fg.code, 0, fg.stderr)
    assert.equal((await meshprof(['flamegraph', dir, '--thread', 'nope', '-o', join(dir, 'fg2.html')])).code, 2)
    // a worker profile outside the directory is refused like the main one
    const bad = writeCapture(dir, 'bad', 8, { workers: [{ threadId: 1, name: '', startMs: 0, fromStart: false, profile: { format: 'cpuprofile', file: '../w.cpuprofile' } }] })
    const r = await meshprof(['top', bad])
    assert.equal(r.code, 4)
    assert.ok(isCleanFailure(r as never), r.stderr)
    assert.match(r.stderr, /workers\[0\]\.profile\.file must be a file in the same directory/)
    const bad2 = writeCapture(dir, 'bad2', 9, { workers: [{ name: 'x' }] })
    assert.equal((await meshprof(['top', bad2])).code, 4)
  })

  test('diff of two captures with worker threads: the worker root is context, the worker function that went is the headline', async () => {
    const dir = tmp('capworkersdiff')
    const worker = (hot: string) => ({
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2] },
        { id: 2, callFrame: { functionName: 'onMessage', scriptId: '1', url: 'file:///app/w.js', lineNumber: 1, columnNumber: 0 }, children: [3] },
        { id: 3, callFrame: { functionName: hot, scriptId: '1', url: 'file:///app/w.js', lineNumber: 5, columnNumber: 0 } },
      ],
      startTime: 0, endTime: 11 * 2000, samples: Array(10).fill(3), timeDeltas: Array(10).fill(2000),
    })
    const sides: string[] = []
    for (const [side, hot] of [['before', 'sha256Slow'], ['after', 'sha256Fast']] as const) {
      const d = join(dir, side)
      mkdirSync(d, { recursive: true })
      writeFileSync(join(d, 'node-7.worker-1.cpuprofile'), JSON.stringify(worker(hot)))
      writeCapture(d, 'svc', 7, { workers: [{ threadId: 1, name: 'hasher', startMs: 0, fromStart: false, profile: { format: 'cpuprofile', file: 'node-7.worker-1.cpuprofile' } }] })
      sides.push(d)
    }
    const r = await meshprof(['diff', sides[0]!, sides[1]!, '--json', '--no-findings'])
    assert.equal(r.code, 0, r.stderr)
    const d = JSON.parse(r.stdout)
    const row = (name: string) => d.rows.find((x: any) => x.name === name)
    assert.equal(row('sha256Slow')?.status, 'gone', JSON.stringify(d.rows.map((x: any) => [x.name, x.status])))
    assert.equal(row('sha256Fast')?.status, 'appeared')
    assert.equal(row('[worker 1] hasher')?.context, true, JSON.stringify(row('[worker 1] hasher')))
    assert.equal(d.rows[0].context, false)
    const only = JSON.parse((await meshprof(['diff', sides[0]!, sides[1]!, '--json', '--no-findings', '--thread', 'main'])).stdout)
    assert.ok(!only.rows.some((x: any) => /sha256/.test(x.name)), JSON.stringify(only.rows.map((x: any) => x.name)))
    assert.equal(only.filters.thread, 'main')
  })

  test('sniff: only meshprof capture JSON', () => {
    assert.equal(captureImporter.sniff(Buffer.from(''), '{"meshprof": "capture", "version": 1}'), true)
    assert.equal(captureImporter.sniff(Buffer.from(''), '{ "meshprof" : "mesh-capture" }'), true)
    assert.equal(captureImporter.sniff(Buffer.from(''), '{"nodes": [], "meshprof": "capture"}'), false)
    assert.equal(captureImporter.sniff(Buffer.from(''), 'meshprof capture'), false)
  })
})

test('cutCpuprofile drops the samples before the window start and recounts hits', async () => {
  const { cutCpuprofile } = await import('../../src/capture/output.js')
  const prof = {
    nodes: [{ id: 1, hitCount: 0 }, { id: 2, hitCount: 3 }, { id: 3, hitCount: 2 }],
    startTime: 1000,
    endTime: 6000,
    samples: [2, 2, 3, 2, 3],
    timeDeltas: [1000, 1000, 1000, 1000, 1000], // samples at 2000, 3000, 4000, 5000, 6000 µs
  }
  const cut = cutCpuprofile(prof, 2.5) // window starts at 3500 µs
  assert.equal(cut.startTime, 3500)
  assert.deepEqual(cut.samples, [3, 2, 3])
  assert.deepEqual(cut.timeDeltas, [500, 1000, 1000])
  assert.deepEqual(cut.nodes!.map((n) => n.hitCount), [0, 1, 2])
  assert.equal(cutCpuprofile(prof, 0.5), prof, 'nothing before the first sample: unchanged')
})
