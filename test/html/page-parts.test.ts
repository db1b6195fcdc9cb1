// The pure parts of the flamegraph page (src/render/html/page/*.js), run in Node without a browser:
// the VLQ column decoder against payload.ts's encoder, and the unit formatters.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { encodeVlq } from '../../src/render/html/payload.js'

// compiled to dist/test/html/; the parts stay in src/ (they are joined, not compiled)
const PARTS = fileURLToPath(new URL('../../../src/render/html/page/', import.meta.url))
const BUILT = fileURLToPath(new URL('../../src/render/html/page.js', import.meta.url))

/** Evaluate one page part on its own; it must not need anything another part declares. */
function loadPart<T>(file: string, names: string[]): T {
  const src = readFileSync(PARTS + file, 'utf8')
  return new Function(`'use strict'\n${src}\nreturn { ${names.join(', ')} }`)() as T
}

type Column = (x: string | number[], n: number, Typed: Int32ArrayConstructor | Float64ArrayConstructor) => Int32Array | Float64Array
const { column } = loadPart<{ column: Column }>('01-vlq.js', ['column'])

test('page VLQ decoder reads what payload.ts encodes, at every digit-count boundary', () => {
  const values = [0, 1, 31, 32, 33, 1023, 1024, 1025, 32767, 32768, 2 ** 20, 2 ** 25 - 1, 2 ** 31 - 1]
  assert.deepEqual(Array.from(column(encodeVlq(values), values.length, Float64Array)), values)
  assert.deepEqual(Array.from(column(encodeVlq(values), values.length, Int32Array)), values)
})

test('page VLQ decoder keeps large float counts exact (past 32 bits, up to 2^53)', () => {
  const values = [2 ** 32, 2 ** 40 + 7, 123456789012345, 2 ** 53 - 1]
  assert.deepEqual(Array.from(column(encodeVlq(values), values.length, Float64Array)), values)
})

test('page VLQ decoder round-trips a pseudo-random column', () => {
  let s = 12345
  const values: number[] = []
  for (let i = 0; i < 5000; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    values.push(s % 7 === 0 ? s : s % 3 === 0 ? s % 1000 : s % 40)
  }
  assert.deepEqual(Array.from(column(encodeVlq(values), values.length, Float64Array)), values)
})

test('page VLQ decoder: plain arrays pass through, n bounds the output, short input leaves zeros', () => {
  assert.deepEqual(Array.from(column([5, 70000, 3], 3, Int32Array)), [5, 70000, 3])
  const enc = encodeVlq([1, 2, 3000, 4])
  assert.deepEqual(Array.from(column(enc, 2, Int32Array)), [1, 2])
  assert.deepEqual(Array.from(column(encodeVlq([7]), 3, Int32Array)), [7, 0, 0])
})

interface Units {
  pct(x: number): string
  pp(x: number): string
  fmtNs(ns: number): string
  fmtBytes(b: number): string
  fmtCores(x: number): string
  fmtVal(v: number, col: { unit: string; type?: string }): string
}
const u = loadPart<Units>('04-units.js', ['pct', 'pp', 'fmtNs', 'fmtBytes', 'fmtCores', 'fmtVal'])

test('page unit formatters', () => {
  assert.equal(u.pct(0.1234), '12.3%')
  assert.equal(u.pct(0), '0.0%')
  assert.equal(u.pct(0.00012), '0.012%')
  assert.equal(u.pct(NaN), '-')
  assert.equal(u.pp(0.05), '+5.0 pp')
  assert.equal(u.pp(-0.05), '\u22125.0 pp')
  assert.equal(u.pp(0), '\u00b10.0 pp')
  assert.equal(u.fmtNs(1.5e9), '1.50 s')
  assert.equal(u.fmtNs(2.5e6), '2.5 ms')
  assert.equal(u.fmtNs(1500), '1.5 \u00b5s')
  assert.equal(u.fmtNs(12), '12 ns')
  assert.equal(u.fmtBytes(3 * 1048576), '3.0 MiB')
  assert.equal(u.fmtBytes(100), '100 B')
  assert.equal(u.fmtCores(0.05), '0.050')
  assert.equal(u.fmtVal(1234567, { unit: 'count', type: 'samples' }), '1,234,567 samples')
  assert.equal(u.fmtVal(3, { unit: 'milliseconds' }), '3.0 ms')
  assert.equal(u.fmtVal(2048, { unit: 'bytes' }), '2.0 KiB')
  assert.equal(u.fmtVal(12, { unit: 'count', type: 'alloc_objects' }), '12 alloc_objects')
})

test('the built page is every part, in order, inside one closure', () => {
  const built = readFileSync(BUILT, 'utf8')
  const parts = readdirSync(PARTS).filter((f) => /^\d\d-.*\.js$/.test(f)).sort()
  assert.ok(parts.length >= 10)
  let at = built.indexOf(';(function () {')
  assert.ok(at >= 0)
  for (const f of parts) {
    const next = built.indexOf(readFileSync(PARTS + f, 'utf8'), at)
    assert.ok(next > at, `${f} missing or out of order in the built page`)
    at = next
  }
  assert.ok(built.trimEnd().endsWith('})()'))
})
