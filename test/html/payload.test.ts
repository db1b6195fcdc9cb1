// The flamegraph payload and page assembly without a browser: aggregation, totals, escaping,
// CSP, diff matching, the column encoding, and the CLI's output and error handling.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ProfileBuilder } from '../../src/model/builder.js'
import { totalWeight } from '../../src/model/ops.js'
import type { Profile } from '../../src/model/types.js'
import { buildDiffPayload, buildPayload, decodeVlq, encodeColumn, encodeVlq, normalizeFindings, stripLineSuffix, type FlamePayload } from '../../src/render/html/payload.js'
import { mergedMeta, renderDiffFlamegraphHtml, renderFlamegraphHtml } from '../../src/render/html/flamegraph.js'
import { renderSpeedscopeHtml } from '../../src/render/speedscope-view.js'
import { runCli, isCleanFailure } from '../helpers/cli.js'
import { AUTO_FINDINGS_MAX_STACKS } from '../../src/cli/commands/flamegraph.js'
import { findingsFor } from '../../src/cli/flamegraph-page.js'

function folded(lines: Record<string, number>, name = 'test'): Profile {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }], { name })
  for (const [stack, w] of Object.entries(lines)) b.addSample(b.stackFromFrames(stack.split(';').map((n) => b.internName(n, 'js'))), w)
  return b.build()
}

interface Node { name: string; depth: number; self: number; total: number; bself?: number }

/** Decode a payload back into preorder nodes with names and totals. */
function nodes(p: FlamePayload): Node[] {
  const col = (x: string | number[]) => (typeof x === 'string' ? decodeVlq(x, p.nodes) : x)
  const depth = col(p.depth), frame = col(p.frame), self = col(p.self)
  const bself = p.bself !== undefined ? col(p.bself) : undefined
  const out: Node[] = depth.map((d, i) => ({ name: p.strs[p.fName[frame[i]!]!]!, depth: d, self: self[i]!, total: self[i]!, ...(bself ? { bself: bself[i]! } : {}) }))
  // totals: add each node to its ancestors (preorder: the ancestor at depth d-1 is the last one seen)
  const path: Node[] = []
  for (const n of out) {
    path[n.depth] = n
    for (let d = 0; d < n.depth; d++) path[d]!.total += n.self
  }
  return out
}

test('the call tree is aggregated, children sorted by name, totals equal the profile weight', () => {
  const p = folded({ 'main;b;x': 3, 'main;a;y': 2, 'main;a;y;z': 4, 'main;a': 1, 'other': 5 })
  const pl = buildPayload(p)
  const ns = nodes(pl)
  assert.deepEqual(ns.map((n) => `${'  '.repeat(n.depth)}${n.name} ${n.self}/${n.total}`), [
    'main 0/10',
    '  a 1/7',
    '    y 2/6',
    '      z 4/4',
    '  b 0/3',
    '    x 3/3',
    'other 5/5',
  ])
  assert.equal(ns.reduce((s, n) => s + n.self, 0) + pl.rootSelf, totalWeight(p))
  assert.equal(pl.rows, p.sampleStack.length)
})

test('frames that display the same (differ only in column) merge into one box; duplicate trie children merge too', () => {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }], {})
  const main = b.internFrame({ name: 'main', kind: 'js', file: 'm.js', line: 1 })
  const f1 = b.internFrame({ name: 'work', kind: 'js', file: 'w.js', line: 5, col: 1 })
  const f2 = b.internFrame({ name: 'work', kind: 'js', file: 'w.js', line: 5, col: 9 })
  b.addSample(b.stackFromFrames([main, f1]), 2)
  b.addSample(b.stackFromFrames([main, f2]), 3)
  const ns = nodes(buildPayload(b.build()))
  assert.deepEqual(ns.map((n) => [n.name, n.total]), [['main', 5], ['work', 5]])
  // A hand-made profile whose trie has two children with the same frame (not what the builder makes)
  const dup: Profile = {
    frames: [{ name: 'root', kind: 'js' }, { name: 'leaf', kind: 'js' }],
    stackFrame: Int32Array.from([0, 1, 1]),
    stackParent: Int32Array.from([-1, 0, 0]),
    sampleStack: Int32Array.from([1, 2, -1]),
    values: [Float64Array.from([4, 6, 1])],
    valueTypes: [{ type: 'samples', unit: 'count' }],
    defaultValue: 0,
    meta: {},
  }
  const pl = buildPayload(dup)
  assert.deepEqual(nodes(pl).map((n) => [n.name, n.self]), [['root', 0], ['leaf', 10]])
  assert.equal(pl.rootSelf, 1)
})

test('tiny weights are all kept: 20,000 one-sample stacks under one 10^7 stack', () => {
  const lines: Record<string, number> = { 'main;big': 1e7 }
  for (let i = 0; i < 20000; i++) lines[`main;small;s${i}`] = 1
  const p = folded(lines)
  const ns = nodes(buildPayload(p))
  assert.equal(ns.length, 20003)
  assert.equal(ns[0]!.total, 1e7 + 20000)
})

test('a 50,000-deep stack builds (iterative everywhere)', () => {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }], {})
  const ids = Array.from({ length: 50000 }, (_, i) => b.internName(`f${i % 7}`, 'js'))
  b.addSample(b.stackFromFrames(ids), 1)
  const pl = buildPayload(b.build())
  assert.equal(pl.nodes, 50000)
  const d = decodeVlq(pl.depth as string, pl.nodes)
  assert.equal(d[49999], 49999)
})

test('column encoding round-trips, fractional columns stay numbers', () => {
  const xs = [0, 1, 31, 32, 33, 1023, 1024, 65535, 2 ** 31, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]
  assert.deepEqual(decodeVlq(encodeVlq(xs), xs.length), xs)
  assert.match(encodeVlq(xs), /^[A-Za-z0-9_-]+$/)
  assert.equal(encodeVlq([0, 5, 31]), 'AF' + 'f')
  assert.deepEqual(encodeColumn([0.5, 1.25, 2]), [0.5, 1.25, 2])
  assert.deepEqual(encodeColumn([1 / 3]), [0.333333333])
})

test('a time profile ships a samples column too; a count profile with a period gets time estimates', () => {
  const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }, { type: 'cpu', unit: 'nanoseconds' }], { periodNs: 1e6 })
  b.defaultValue = 1
  b.addSample(b.stackFromFrames([b.internName('a', 'js')]), [2, 2e6])
  const pl = buildPayload(b.build())
  assert.deepEqual(pl.cols, [{ type: 'cpu', unit: 'nanoseconds' }, { type: 'samples', unit: 'count' }])
  assert.ok(pl.self2 !== undefined)
  assert.equal(pl.periodNs, undefined)
  const c = buildPayload(folded({ a: 1 }))
  assert.equal(c.self2, undefined)
  const b2 = new ProfileBuilder([{ type: 'samples', unit: 'count' }], { periodNs: 1e6 })
  b2.addSample(b2.stackFromFrames([b2.internName('a', 'js')]), 2)
  assert.equal(buildPayload(b2.build()).periodNs, 1e6)
})

const HOSTILE = ['</script><script>alert(1)</script>', '<!--', '<img src=x onerror=alert(2)>', 'a\u2028b', 'x &lt b &']

test('untrusted names cannot leave the data block; the page has exactly two scripts and no remote reference', () => {
  const lines: Record<string, number> = {}
  HOSTILE.forEach((h, i) => { lines[`main;${h}`] = i + 1 })
  const p = folded(lines, '</title><script>alert(3)</script>')
  const html = renderFlamegraphHtml(p)
  assert.equal(html.match(/<script/gi)!.length, 2)
  assert.equal(html.match(/<\/script/gi)!.length, 2)
  assert.ok(!html.includes('<img'))
  assert.ok(!html.includes('<!--'))
  assert.ok(!/https?:\/\//.test(html), 'no http(s) URL anywhere in the page')
  assert.ok(!/<[a-z][^>]*\s(src|href)\s*=/i.test(html), 'no element loads anything')
  assert.match(html, /<title>&lt;\/title&gt;&lt;script&gt;alert\(3\)&lt;\/script&gt;<\/title>/)
  const data = /<script type="application\/json" id="meshprof-data">([^<]*)<\/script>/.exec(html)![1]!
  const pl = JSON.parse(data) as FlamePayload
  for (const h of HOSTILE) assert.ok(pl.strs.includes(h), h)
})

test('the CSP allows only the page\'s own inline script and style (by hash) and nothing remote', () => {
  const html = renderFlamegraphHtml(folded({ 'a;b': 1 }))
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!
  assert.match(csp, /^default-src 'none'; /)
  const js = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!
  const css = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!
  const h = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`
  assert.match(csp, new RegExp(`script-src ${h(js).replace(/[+/]/g, '\\$&')};`))
  assert.match(csp, new RegExp(`style-src ${h(css).replace(/[+/]/g, '\\$&')};`))
  assert.ok(!/unsafe-inline|unsafe-eval|\*|http/.test(csp), csp)
})

test('findings: the ones given are listed, junk entries dropped; none by default', () => {
  const base = folded({ 'a;connectPeer': 1 })
  const given = [{ ruleId: 'connect-storm', severity: 'high', title: 'storm', share: 0.5, frames: ['connectPeer'] }, 'junk', { title: 'no rule' }]
  assert.deepEqual(buildPayload(base, { findings: given }).findings, [{ ruleId: 'connect-storm', severity: 'high', title: 'storm', share: 0.5, frames: ['connectPeer'] }])
  assert.deepEqual(buildPayload(base).findings, [])
  assert.deepEqual(normalizeFindings(undefined), [])
})

test('diff payload: one tree shaped by both, after in self and before in bself; --strip-lines matches moved code', () => {
  const mk = (lines: Record<string, [string, number][]>) => {
    const b = new ProfileBuilder([{ type: 'samples', unit: 'count' }], {})
    for (const [, frames] of Object.entries(lines)) {
      const w = frames.pop()![1]
      b.addSample(b.stackFromFrames(frames.map(([n, l]) => b.internFrame({ name: n, kind: 'js', file: 'x.js', line: l }))), w)
    }
    return b.build()
  }
  const before = mk({ s1: [['main', 1], ['gossip', 10], ['connectPeer', 20], ['', 60]], s2: [['main', 1], ['emit', 30], ['', 40]] })
  const after = mk({ s1: [['main', 1], ['gossip', 12], ['connectPeer', 22], ['', 5]], s2: [['main', 1], ['emit', 30], ['', 95]] })
  const strict = nodes(buildDiffPayload(before, after))
  // gossip moved from line 10 to 12: without strip-lines it is a different frame (one gone, one new)
  assert.deepEqual(strict.filter((n) => n.name === 'gossip').map((n) => n.total).sort(), [0, 5])
  assert.equal(strict.filter((n) => n.name === 'connectPeer').reduce((s, n) => s + n.bself!, 0), 60)
  const stripped = nodes(buildDiffPayload(before, after, { stripLines: true }))
  assert.deepEqual(stripped.map((n) => `${n.name} ${n.self}/${n.bself}`), ['main 0/0', 'emit 95/40', 'gossip 0/0', 'connectPeer 5/60'])
  assert.equal(stripLineSuffix('handler (server.js:42)'), 'handler (server.js)')
  assert.equal(stripLineSuffix('server.js:42:7'), 'server.js')
  const html = renderDiffFlamegraphHtml(before, after, { stripLines: true, title: '<b>t</b>' })
  assert.match(html, /<title>&lt;b&gt;t&lt;\/b&gt;<\/title>/)
  assert.match(html, /"mode":"diff"/)
})

test('speedscope view page: all assets inline, no remote reference, profile embedded as base64', () => {
  const html = renderSpeedscopeHtml('main;connectPeer 3\n', { name: '</script><b>x</b>.folded' })
  assert.ok(html.length > 400_000)
  assert.ok(!/<link rel="stylesheet"|<script src=/.test(html))
  assert.ok(!/url\("?\.\//.test(html), 'the font is a data: URL')
  assert.equal(html.match(/<\/script/gi)!.length, 4)
  assert.ok(html.includes(Buffer.from('main;connectPeer 3\n').toString('base64')))
  assert.ok(html.includes('\\u003c/script\\u003e\\u003cb\\u003ex\\u003c/b\\u003e.folded'))
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!
  assert.match(csp, /^default-src 'none'; script-src 'sha256-[^']+' 'sha256-[^']+' 'wasm-unsafe-eval'; /)
})

const dir = mkdtempSync(join(tmpdir(), 'meshprof-fg-cli-'))
const small = join(dir, 'small.folded')
writeFileSync(small, 'main;runGossip;connectPeer 6\nmain;emit 3\n')

test('CLI: flamegraph -o - writes the page to stdout; default output name next to the working dir', async () => {
  const r = await runCli(['flamegraph', small, '-o', '-'])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^<!DOCTYPE html>/)
  assert.match(r.stdout, /"rows":2/)
  const d = await runCli(['flamegraph', small, '--title', 'node 3'], { cwd: dir })
  assert.equal(d.code, 0, d.stderr)
  assert.ok(existsSync(join(dir, 'small.flamegraph.html')))
  assert.match(readFileSync(join(dir, 'small.flamegraph.html'), 'utf8'), /<title>node 3<\/title>/)
  assert.match(d.stderr, /wrote small\.flamegraph\.html/)
})

test('CLI: bad --highlight regex is a usage error, a missing file exit 3, garbage input exit 4 — one line each', async () => {
  const bad = await runCli(['flamegraph', small, '--highlight', '(', '-o', join(dir, 'x.html')])
  assert.equal(bad.code, 2)
  assert.ok(isCleanFailure(bad), bad.stderr)
  assert.match(bad.stderr, /--highlight: invalid regular expression/)
  assert.ok(!existsSync(join(dir, 'x.html')))
  const missing = await runCli(['flamegraph', join(dir, 'nope.folded')])
  assert.equal(missing.code, 3)
  assert.ok(isCleanFailure(missing), missing.stderr)
  const junk = join(dir, 'junk.bin')
  writeFileSync(junk, Buffer.from([0, 1, 2, 3, 255, 254, 0, 0, 7]))
  const g = await runCli(['flamegraph', junk, '-o', join(dir, 'j.html')])
  assert.equal(g.code, 4)
  assert.ok(isCleanFailure(g), g.stderr)
  const v = await runCli(['view', join(dir, 'nope.folded')])
  assert.equal(v.code, 3)
  assert.ok(isCleanFailure(v), v.stderr)
  const unwritable = await runCli(['flamegraph', small, '-o', join(small, 'x.html')])
  assert.equal(unwritable.code, 3)
  assert.ok(isCleanFailure(unwritable), unwritable.stderr)
})

test('CLI findings panel: analyze rules on small profiles, --findings/--no-findings, a profile\'s own findings win', () => {
  const storm = folded({ 'node;processTimers;listOnTimeout;runGossip;joinPeers;connectPeer;tls.connect': 600, 'node;processTimers;listOnTimeout;runGossip;emit': 300, 'node;(idle)': 100 })
  const io = { err: () => {}, verbose: false }
  const f = findingsFor(storm, undefined, io)!
  assert.equal(f[0]!.ruleId, 'connect-storm')
  assert.ok(f[0]!.frames!.includes('joinPeers'))
  assert.deepEqual(findingsFor(storm, false, io), [])
  // big profiles: only on request
  const big: Profile = { ...storm, stackFrame: new Int32Array(AUTO_FINDINGS_MAX_STACKS + 1), stackParent: new Int32Array(AUTO_FINDINGS_MAX_STACKS + 1).fill(-1) }
  assert.equal(findingsFor(big, undefined, io), undefined)
})

test('CLI findings panel for several processes: each analysed on its own, titles name the process', () => {
  const storm = folded({ 'node;processTimers;listOnTimeout;runGossip;joinPeers;connectPeer;tls.connect': 600, 'node;processTimers;listOnTimeout;runGossip;emit': 300, 'node;(idle)': 100 })
  const calm = folded({ 'node;(idle)': 990, 'node;processTimers;listOnTimeout;runGossip;emit': 10 })
  const io = { err: () => {}, verbose: false }
  const f = findingsFor([{ ...storm, meta: { ...storm.meta, name: 'node-a' } }, { ...calm, meta: { ...calm.meta, name: 'node-b' } }], undefined, io)!
  const storms = f.filter((x) => x.ruleId === 'connect-storm')
  assert.equal(storms.length, 1)
  assert.match(storms[0]!.title, /^node-a: /)
  assert.ok(f.every((x) => !x.title.startsWith('node-b: ') || x.ruleId !== 'connect-storm'))
})

test('several processes shown as one: names joined, CPU summed, longest window, no single pid', () => {
  const mk = (name: string, pid: number, cpu: number | undefined, dur: number) => ({ ...folded({ a: 1 }, name), meta: { name, pid, command: `node ${name}`, durationNs: dur, backend: 'inspector', ...(cpu !== undefined ? { cpuTimeNs: cpu } : {}) } })
  const m = mergedMeta([mk('mesh-node-0', 10, 4e8, 5e9), mk('mesh-node-1', 11, 6e8, 5.2e9)])
  assert.deepEqual(m, { name: '2 processes: mesh-node-0, mesh-node-1', durationNs: 5.2e9, cpuTimeNs: 1e9, backend: 'inspector' })
  assert.equal(mergedMeta([mk('a', 1, 1, 1), mk('b', 2, undefined, 1)]).cpuTimeNs, undefined)
  const one = mk('x', 1, 1, 1)
  assert.equal(mergedMeta([one]), one.meta)
})

test('CLI: a directory without captures is bad input (exit 4), one line', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'meshprof-fg-empty-'))
  const r = await runCli(['flamegraph', empty, '-o', join(empty, 'x.html')])
  assert.equal(r.code, 4)
  assert.ok(isCleanFailure(r), r.stderr)
  assert.match(r.stderr, /holds no capture/)
})
