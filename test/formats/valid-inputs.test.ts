// Inputs other tools write that are valid and must be read (issue "Inputs that are refused today
// but are valid"): a Go CPU profile whose first field is time_nanos, folded files in UTF-16 (BOM,
// CRLF) as Windows tools write them, UTF-8 characters cut by a read-chunk boundary.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { gunzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ROOT, runCli } from '../helpers/cli.js'
import { parseRaw, rawKeys, ourKeys } from '../helpers/pprof-raw.js'
import { loadProfiles } from '../../src/formats/index.js'
import { looksLikePprof } from '../../src/formats/pprof.js'
import { HEAD_BYTES } from '../../src/formats/source.js'
import { parseFoldedStream, toFolded } from '../../src/formats/folded.js'
import { ProtoReader } from '../../src/formats/protobuf.js'

const dir = mkdtempSync(join(tmpdir(), 'meshprof-valid-'))
// `go test -cpuprofile` of test/fixtures/go-cpuprofile/deep_test.go (Go 1.19): Go writes
// time_nanos (field 9) first, and the profile is larger than the detection head.
const GO_PROFILE = join(ROOT, 'test', 'fixtures', 'go-cpuprofile', 'cpu.pprof')
const HAS_GO = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0

test('Go CPU profile starting with time_nanos, larger than the detection head: detected as pprof', async () => {
  const raw = gunzipSync(readFileSync(GO_PROFILE))
  const r = new ProtoReader(raw)
  assert.ok(r.next())
  assert.equal(r.field, 9, 'the fixture starts with time_nanos, as Go writes it')
  assert.ok(raw.length > HEAD_BYTES, `the fixture is larger than the ${HEAD_BYTES}-byte head (${raw.length})`)
  assert.equal(looksLikePprof(raw.subarray(0, HEAD_BYTES)), true)
  const detected = await runCli(['top', GO_PROFILE, '--json', '-n', '5', '--verbose'])
  assert.equal(detected.code, 0, detected.stderr)
  assert.match(detected.stderr, /pprof/)
  const forced = await runCli(['top', GO_PROFILE, '--json', '-n', '5', '--format', 'pprof'])
  assert.equal(forced.code, 0, forced.stderr)
  assert.deepEqual(JSON.parse(detected.stdout), JSON.parse(forced.stdout))
  assert.ok(JSON.parse(detected.stdout).rows.some((row: { name: string }) => row.name.startsWith('gob.')), 'the benchmark\'s own functions are in the profile')
})

test('Go CPU profile: per-stack values agree with go tool pprof -raw', { skip: HAS_GO ? false : 'go not installed' }, async () => {
  const out = spawnSync('go', ['tool', 'pprof', '-raw', GO_PROFILE], { encoding: 'utf8', maxBuffer: 1 << 28 })
  assert.equal(out.status, 0, out.stderr)
  const { profiles } = await loadProfiles(GO_PROFILE)
  assert.deepEqual(ourKeys(profiles[0]!), rawKeys(parseRaw(out.stdout)))
})

test('looksLikePprof: a message whose sub-messages do not parse as Profile parts is refused', () => {
  // field 2 (sample) holding a sub-message with a field a Sample does not have (7, varint).
  assert.equal(looksLikePprof(Uint8Array.from([0x48, 0x01, 0x12, 0x02, 0x38, 0x01, 0x0a, 0x04, 0x08, 0x01, 0x10, 0x02])), false)
  // Cut inside the first field and nothing parsed whole: not enough to call it pprof.
  const cut = new Uint8Array(HEAD_BYTES)
  cut.set([0x48, 0x01, 0x32, 0xff, 0xff, 0x03])
  assert.equal(looksLikePprof(cut), false)
})

// Frame names with non-ASCII characters, a two-line stack, CRLF line ends.
const FOLDED = 'main;tokio::runtime::park;Überweisung::senden;connect 7\r\nmain;日本語::関数 3\r\nmain;render;é 2\r\n'

function utf16(text: string, be: boolean): Buffer {
  const le = Buffer.from('\ufeff' + text, 'utf16le')
  return be ? le.swap16() : le
}

test('folded stacks in UTF-16 LE and BE with BOM and CRLF read like their UTF-8 text', async () => {
  const utf8File = join(dir, 'utf8.folded')
  writeFileSync(utf8File, FOLDED)
  const want = await runCli(['top', utf8File, '--json'])
  assert.equal(want.code, 0, want.stderr)
  const wantJson = JSON.parse(want.stdout)
  assert.ok(wantJson.rows.some((r: { name: string }) => r.name === '日本語::関数'))
  for (const be of [false, true]) {
    const f = join(dir, be ? 'utf16be.folded' : 'utf16le.folded')
    writeFileSync(f, utf16(FOLDED, be))
    const got = await runCli(['top', f, '--json', '--verbose'])
    assert.equal(got.code, 0, `${f}: ${got.stderr}`)
    assert.match(got.stderr, /folded/)
    const gotJson = JSON.parse(got.stdout)
    assert.deepEqual(gotJson.rows, wantJson.rows, be ? 'UTF-16 BE' : 'UTF-16 LE')
    assert.equal(gotJson.total, wantJson.total)
  }
})

test('folded import: characters cut by a chunk boundary (UTF-8 and UTF-16) stay whole', async () => {
  const want = toFolded(await parseFoldedStream([Buffer.from(FOLDED)], 'x'))
  assert.match(want, /Überweisung::senden/)
  for (const bytes of [Buffer.from(FOLDED), utf16(FOLDED, false), utf16(FOLDED, true)]) {
    for (const size of [1, 2, 3, 5]) {
      const chunks: Buffer[] = []
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
      assert.equal(toFolded(await parseFoldedStream(chunks, 'x')), want, `chunks of ${size} bytes`)
    }
  }
})
