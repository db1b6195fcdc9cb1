// Labels as columns: rows read back as objects, a key given twice keeps both values, row subsets,
// and a pprof where every sample has its own label set keeps typed columns, not one object per sample.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { LabelColumns, LabelColumnsBuilder } from '../../src/model/labels.js'
import { ProfileBuilder, validateProfile } from '../../src/model/builder.js'
import { decodePprof } from '../../src/formats/pprof.js'
import { ProtoWriter } from '../../src/formats/protobuf.js'

test('label columns: rows as objects, absent keys, a key given twice, row subsets', () => {
  const b = new LabelColumnsBuilder()
  b.addRow()
  b.setAll({ peer: 'a', n: 3 })
  b.addRow()
  b.addRow()
  const k = b.keyId('peer')
  b.setString(k, b.stringId('b'))
  b.setString(k, b.stringId('c'))
  b.setNumber(b.keyId('n'), 7)
  b.setNumber(b.keyId('n'), 8)
  const c = b.build()
  assert.equal(c.length, 3)
  assert.deepEqual(c.at(0), { peer: 'a', n: 3 })
  assert.equal(c.at(1), undefined)
  assert.deepEqual(c.at(2), { peer: 'b,c', n: '7,8' })
  assert.deepEqual(c.select([2, 0]).toArray(), [{ peer: 'b,c', n: '7,8' }, { peer: 'a', n: 3 }])
})

test('ProfileBuilder keeps labels per row in columns', () => {
  const pb = new ProfileBuilder([{ type: 'samples', unit: 'count' }])
  const s = pb.stackFromFrames([pb.internName('main'), pb.internName('work')])
  pb.addSample(s, 1)
  pb.addSample(s, 1, undefined, { span: 'x' })
  pb.addSample(s, 1, undefined, { span: 'y', t: 5 })
  const p = pb.build()
  assert.ok(p.labels instanceof LabelColumns)
  assert.deepEqual(p.labels.toArray(), [undefined, { span: 'x' }, { span: 'y', t: 5 }])
  assert.deepEqual(validateProfile(p), [])
})

function heapAfterGc(): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

test('a pprof where every sample has its own labels: memory grows with columns, not objects', () => {
  const N = 200_000
  const w = new ProtoWriter()
  const strings = ['', 'samples', 'count', 'main', 'end_timestamp_ns', 'span id', 'thread name', 'Main Event Loop']
  for (let i = 0; i < N; i++) strings.push(`span-${i}`)
  const vt = w.fork()
  w.int(1, 1)
  w.int(2, 2)
  w.ldelim(1, vt)
  for (let i = 0; i < N; i++) {
    const m = w.fork()
    w.packed(1, [1])
    w.packed(2, [1], true)
    const l1 = w.fork(); w.int(1, 4); w.int(3, 1_700_000_000_000_000_000 + i * 1000); w.ldelim(3, l1)
    const l2 = w.fork(); w.int(1, 5); w.int(2, 8 + i); w.ldelim(3, l2)
    const l3 = w.fork(); w.int(1, 6); w.int(2, 7); w.ldelim(3, l3)
    w.ldelim(2, m)
  }
  const loc = w.fork(); w.uint(1, 1); const ln = w.fork(); w.uint(1, 1); w.ldelim(4, ln); w.ldelim(4, loc)
  const fn = w.fork(); w.uint(1, 1); w.int(2, 3); w.ldelim(5, fn)
  for (const s of strings) w.string(6, s)
  const buf = w.finish()
  const before = heapAfterGc()
  const p = decodePprof(buf, 'labels.pb')
  const grown = (heapAfterGc() - before) / 1048576
  assert.equal(p.sampleStack.length, N)
  assert.ok(p.labels instanceof LabelColumns)
  assert.deepEqual(p.labels.at(N - 1), { end_timestamp_ns: 1_700_000_000_000_000_000 + (N - 1) * 1000, 'span id': `span-${N - 1}`, 'thread name': 'Main Event Loop' })
  // Columns: 8 bytes (timestamp) + 4 + 4 (string ids) per sample, plus the 200k distinct span-id
  // strings the file holds (~10 MB in all). One frozen object per sample cost ~70 MB more.
  assert.ok(grown < 40, `heap grew by ${grown.toFixed(1)} MB for ${N} labelled samples`)
})
