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
import { looksLikePprof } from '../../src/formats/detect.js'
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

// ---- perf script of a recording made without -g ----------------------------------------------

/** Record `seconds` of a busy Node process with perf, without call chains; null when perf cannot. */
function recordWithoutCallChains(): Buffer | null {
  const data = join(dir, 'nog.perf.data')
  const rec = spawnSync('perf', ['record', '-q', '-F', '999', '-o', data, '--', process.execPath, '-e', 'let x = 0; const t = Date.now(); while (Date.now() - t < 400) x += Math.sqrt(x)'], { stdio: 'ignore' })
  if (rec.status !== 0) return null
  const s = spawnSync('perf', ['script', '-i', data], { maxBuffer: 1 << 26 })
  return s.status === 0 && s.stdout.length > 0 ? s.stdout : null
}
const NOG = recordWithoutCallChains()
const NOG_SKIP = NOG ? false : 'perf record is not usable here'
/** One sample per line: `  comm pid time: period event: addr sym (dso)`, comm padded by perf. */
const SAMPLE_LINE = /^\s*(\S+)\s+\d+\s+\d+\.\d+:\s+(\d+)\s+\S+:\s+([0-9a-f]+)\s+(.+) \((.*)\)\s*$/
const FG = process.env.FLAMEGRAPH_DIR
const HAS_PERL_FG = FG !== undefined && spawnSync('test', ['-f', join(FG, 'stackcollapse-perf.pl')]).status === 0

test('perf script of a recording without -g (symbol on the event line): read, folded one frame per sample', { skip: NOG_SKIP }, async () => {
  const text = NOG!.toString('latin1')
  const lines = text.split('\n').filter((l) => l !== '')
  assert.ok(lines.length >= 20, `${lines.length} samples recorded`)
  assert.ok(lines.every((l) => SAMPLE_LINE.test(l)), 'every line is a whole sample (no call chain lines, no blank lines)')
  assert.ok(lines.some((l) => /^ +\S/.test(l)), 'perf pads the process name in this mode')
  const file = join(dir, 'nog.txt')
  writeFileSync(file, NOG!)
  let periods = 0
  for (const l of lines) periods += Number(SAMPLE_LINE.exec(l)![2])
  const top = await runCli(['top', file, '--json', '--verbose'])
  assert.equal(top.code, 0, top.stderr)
  assert.match(top.stderr, /perf-script/)
  const j = JSON.parse(top.stdout)
  assert.equal(j.total, periods, 'every sample counted with its period')
  const fold = await runCli(['fold', file])
  assert.equal(fold.code, 0, fold.stderr)
  const out = fold.stdout.trim().split('\n')
  let sum = 0
  for (const l of out) {
    const m = /^([^;]+);([^;]+) (\d+)$/.exec(l)
    assert.ok(m, `one frame under the process name: ${l}`)
    sum += Number(m[3])
  }
  assert.equal(sum, periods)
  if (HAS_PERL_FG) {
    // The same samples written as perf prints a one-frame call chain (event line, frame, blank):
    // stackcollapse-perf.pl folds that form; it skips the one-line form (padded comm, no blank lines).
    const twoLine = lines.map((l) => {
      const m = /^\s*(.*?:\s+\d+\s+\S+:)\s+([0-9a-f]+\s+.*)$/.exec(l)!
      return `${m[1]}\n\t${m[2]}\n\n`
    }).join('')
    const perl = spawnSync('perl', [join(FG!, 'stackcollapse-perf.pl')], { input: twoLine, maxBuffer: 1 << 26 })
    assert.equal(fold.stdout, perl.stdout.toString('latin1'))
  }
})

test('perf script event lines followed by an empty line (no frames): each sample is the process name', { skip: NOG_SKIP }, async () => {
  // The same recording printed without ip/sym: event lines only, padded, as `perf script -F` prints them.
  const data = join(dir, 'nog.perf.data')
  const s = spawnSync('perf', ['script', '-i', data, '-F', 'comm,tid,time,period,event'], { maxBuffer: 1 << 26 })
  assert.equal(s.status, 0)
  const lines = s.stdout.toString('latin1').split('\n').filter((l) => l.trim() !== '')
  // Followed by an empty line each, as perf prints a sample whose call chain is empty.
  const file = join(dir, 'events-blank.txt')
  writeFileSync(file, lines.map((l) => `${l}\n\n`).join(''))
  let periods = 0
  const byComm = new Map<string, number>()
  for (const l of lines) {
    const m = /^\s*(\S+)\s+\d+\s+\d+\.\d+:\s+(\d+)\s+\S+:\s*$/.exec(l)
    assert.ok(m, l)
    periods += Number(m[2])
    byComm.set(m[1]!, (byComm.get(m[1]!) ?? 0) + Number(m[2]))
  }
  const fold = await runCli(['fold', file])
  assert.equal(fold.code, 0, fold.stderr)
  assert.equal(fold.stdout, [...byComm].sort().map(([c, n]) => `${c} ${n}\n`).join(''))
  if (HAS_PERL_FG) {
    const perl = spawnSync('perl', [join(FG!, 'stackcollapse-perf.pl')], { input: lines.map((l) => `${l.trimStart()}\n\n`).join('') })
    assert.equal(fold.stdout, perl.stdout.toString('latin1'))
  }
  const top = await runCli(['top', file, '--json'])
  assert.equal(top.code, 0, top.stderr)
  assert.equal(JSON.parse(top.stdout).total, periods)
})
