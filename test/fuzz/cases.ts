// Fuzz seeds (the shared corpus, profiles meshprof itself writes, capture bundles, built-in samples)
// and the case generator: case i of seed s is always the same bytes fed to the same target.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { loadProfiles } from '../../src/formats/index.js'
import { encodePprof } from '../../src/formats/pprof-export.js'
import { toSpeedscope } from '../../src/formats/speedscope-export.js'
import { toFolded } from '../../src/formats/folded.js'
import { FORMAT_IDS } from '../../src/formats/index.js'
import { GZIP_TRICKS, MUTATIONS, Rng, gzipBomb, isGzip, plain, prefixedBomb } from './mutate.js'

/** One input: a main file plus siblings it names (capture files point at their raw profile). */
export interface Seed {
  name: string
  main: string
  files: Record<string, Buffer>
}

const TINY_CPUPROFILE = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [2, 4] },
    { id: 2, callFrame: { functionName: 'runGossip', scriptId: '1', url: 'file:///app/node.js', lineNumber: 10, columnNumber: 2 }, children: [3] },
    { id: 3, callFrame: { functionName: 'joinPeers', scriptId: '1', url: 'file:///app/node.js', lineNumber: 20, columnNumber: 2 }, children: [5] },
    { id: 4, callFrame: { functionName: '(idle)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 } },
    { id: 5, callFrame: { functionName: 'connect', scriptId: '2', url: 'node:net', lineNumber: 5, columnNumber: 1 } },
  ],
  startTime: 1000,
  endTime: 13000,
  samples: [3, 5, 5, 4, 3, 4],
  timeDeltas: [2000, 2000, 2000, 2000, 2000, 2000],
}

const NETWORK = {
  source: 'node-probe',
  windowMs: 2000,
  stacks: [['listOnTimeout (node:internal/timers:594:17)', 'runGossip (/app/node.js:11:3)', 'joinPeers (/app/node.js:21:3)']],
  connects: [
    { t: 100, remote: '127.0.0.1:4001', tls: true, initiator: 0, alreadyConnected: true },
    { t: 200, remote: '127.0.0.1:4002', tls: false, initiator: ['inline', 'stack'] },
  ],
  snapshots: [{ t: 0, remotes: ['127.0.0.1:4001'] }, { t: 2000, remotes: ['127.0.0.1:4001', '127.0.0.1:4002'] }],
  droppedConnects: 0,
}

function captureJson(name: string, pid: number, rawFile: string, format: string): Buffer {
  return Buffer.from(JSON.stringify({
    meshprof: 'capture',
    version: 1,
    process: { pid, command: 'node mesh.js', name, backend: 'inspector', startTimeMs: 1763900000000, durationMs: 12000, rateHz: 500, cpuTimeNs: 3456789012, partial: false },
    profile: { format, file: rawFile },
    network: NETWORK,
    warnings: [],
  }, null, 1))
}

/** Samples that exist without the corpus: one per importer, including capture bundles. */
function builtinSeeds(): Seed[] {
  const cpu = Buffer.from(JSON.stringify(TINY_CPUPROFILE))
  const folded = Buffer.from('main;runGossip;joinPeers;connect;tls_handshake 40\nmain;runGossip;joinPeers 7\nmain;idle 3\nmain;serve;[unknown] 2\n')
  const perf = Buffer.from([
    'node 4242 [001] 1000.000001:     2002002 cpu-clock:',
    '\t    55d0c1a2b3c4 tls_handshake (/usr/bin/node)',
    '\t    55d0c1a2b000 joinPeers (/usr/bin/node)',
    '\t    7f0000000000 __libc_start_main (/lib/x86_64-linux-gnu/libc.so.6)',
    '',
    'node 4242 [001] 1000.002003:     2002002 cpu-clock:',
    '\tffffffff81000000 do_syscall_64 ([kernel.kallsyms])',
    '\t    55d0c1a2b000 _ZN4iroh8endpoint7connect17h0123456789abcdefE (/usr/bin/node)',
    '',
  ].join('\n'))
  const seeds: Seed[] = [
    { name: 'builtin/tiny.cpuprofile', main: 'tiny.cpuprofile', files: { 'tiny.cpuprofile': cpu } },
    { name: 'builtin/tiny.folded', main: 'tiny.folded', files: { 'tiny.folded': folded } },
    { name: 'builtin/tiny.perf.txt', main: 'tiny.perf.txt', files: { 'tiny.perf.txt': perf } },
    {
      name: 'builtin/capture',
      main: 'node-a-42.capture.json',
      files: { 'node-a-42.capture.json': captureJson('node-a', 42, 'node-42.cpuprofile', 'cpuprofile'), 'node-42.cpuprofile': cpu },
    },
    {
      name: 'builtin/capture-perf',
      main: 'native-7.capture.json',
      files: { 'native-7.capture.json': captureJson('native', 7, 'native-7.perf.txt', 'perf-script'), 'native-7.perf.txt': perf },
    },
    {
      name: 'builtin/mesh',
      main: 'mesh.json',
      files: {
        'mesh.json': Buffer.from(JSON.stringify({ meshprof: 'mesh-capture', version: 1, captures: ['a-1.capture.json', 'b-2.capture.json'] })),
        'a-1.capture.json': captureJson('a', 1, 'a-1.cpuprofile', 'cpuprofile'),
        'a-1.cpuprofile': cpu,
        'b-2.capture.json': captureJson('b', 2, 'b-2.perf.txt', 'perf-script'),
        'b-2.perf.txt': perf,
      },
    },
  ]
  return seeds
}

/** Every input file the corpus manifest lists (expected outputs are not inputs). */
function corpusSeeds(corpus: string): Seed[] {
  const manifest = join(corpus, 'manifest.json')
  if (!existsSync(manifest)) return []
  const entries = JSON.parse(readFileSync(manifest, 'utf8')) as Array<{ file: string }>
  const out: Seed[] = []
  for (const e of entries) {
    const p = join(corpus, e.file)
    if (!existsSync(p)) continue
    const data = readFileSync(p)
    if (data.length > 1 << 20) continue
    const base = e.file.split('/').pop()!
    out.push({ name: `corpus/${e.file}`, main: base, files: { [base]: data } })
  }
  return out
}

/** Profiles meshprof writes (pprof raw, speedscope JSON, folded) from a few corpus / builtin inputs. */
async function exportedSeeds(from: Seed[]): Promise<Seed[]> {
  const out: Seed[] = []
  const picks = from.filter((s) => /\.(cpuprofile|folded|perf\.txt)$|parca-profile1|pprof-sample\.cpu$|local-perf-gzip|speedscope-0\.1\.2/.test(s.name))
  const { fromBuffer } = await import('../../src/formats/source.js')
  const { loadFromSource } = await import('../../src/formats/index.js')
  for (const s of picks.slice(0, 8)) {
    let profiles
    try {
      profiles = (await loadFromSource(fromBuffer(s.main, s.files[s.main]!))).profiles
    } catch {
      continue
    }
    const stem = s.main.replace(/[^A-Za-z0-9]+/g, '-')
    out.push({ name: `exported/${stem}.pb`, main: `${stem}.pb`, files: { [`${stem}.pb`]: Buffer.from(encodePprof(profiles[0]!)) } })
    out.push({ name: `exported/${stem}.speedscope.json`, main: `${stem}.speedscope.json`, files: { [`${stem}.speedscope.json`]: Buffer.from(toSpeedscope(profiles, stem)) } })
    out.push({ name: `exported/${stem}.folded`, main: `${stem}.folded`, files: { [`${stem}.folded`]: Buffer.from(toFolded(profiles[0]!)) } })
  }
  return out
}

export async function loadSeeds(corpus: string | undefined): Promise<Seed[]> {
  const base = [...builtinSeeds(), ...(corpus ? corpusSeeds(corpus) : [])]
  // Seeds that are gzipped are mutated as their content; the generator may gzip again.
  return [...base, ...(await exportedSeeds(base))]
}

/** What a case feeds its input to. */
export type Target =
  | { id: string; kind: 'import'; format?: string; via: 'file' | 'buffer' }
  | { id: string; kind: 'cmd'; args(input: string, other: string, outDir: string): string[] }

export const TARGETS: readonly Target[] = [
  { id: 'import:detect', kind: 'import', via: 'file' },
  { id: 'import:detect(stdin)', kind: 'import', via: 'buffer' },
  ...FORMAT_IDS.map((f): Target => ({ id: `import:${f}`, kind: 'import', format: f, via: 'file' })),
  { id: 'top', kind: 'cmd', args: (i) => ['top', i] },
  { id: 'top --by module --json', kind: 'cmd', args: (i) => ['top', i, '--by', 'module', '--json', '--sort', 'total'] },
  { id: 'analyze', kind: 'cmd', args: (i) => ['analyze', i] },
  { id: 'analyze --json', kind: 'cmd', args: (i) => ['analyze', i, '--json'] },
  { id: 'flamegraph', kind: 'cmd', args: (i, _o, d) => ['flamegraph', i, '-o', join(d, 'out.html')] },
  { id: 'fold', kind: 'cmd', args: (i) => ['fold', i] },
  { id: 'convert --to folded', kind: 'cmd', args: (i) => ['convert', i, '--to', 'folded'] },
  { id: 'convert --to pprof', kind: 'cmd', args: (i, _o, d) => ['convert', i, '--to', 'pprof', '-o', join(d, 'out.pb.gz')] },
  { id: 'convert --to speedscope', kind: 'cmd', args: (i, _o, d) => ['convert', i, '--to', 'speedscope', '-o', join(d, 'out.speedscope.json')] },
  { id: 'diff', kind: 'cmd', args: (i, o) => ['diff', o, i] },
  { id: 'diff --json (mutated before)', kind: 'cmd', args: (i, o) => ['diff', i, o, '--json'] },
  { id: 'diff --html', kind: 'cmd', args: (i, o, d) => ['diff', o, i, '--html', join(d, 'diff.html')] },
  { id: 'view', kind: 'cmd', args: (i, _o, d) => ['view', i, '-o', join(d, 'out.view.html')] },
]

export interface FuzzCase {
  index: number
  target: Target
  seed: string
  /** Mutations applied, in order (`none` for an unmutated seed). */
  mutations: string[]
  /** Files of the case directory: the main input (and siblings), plus `other` for diff. */
  files: Record<string, Buffer>
  main: string
  /** An unmutated second profile (diff's other side). */
  other: string
}

const MAX_CASE_BYTES = 8 << 20

/** Case `index` of run `seed`: a pure function of its arguments and the seed list. */
export function makeCase(seed: number, index: number, seeds: readonly Seed[]): FuzzCase {
  const rng = new Rng(seed, index)
  const target = TARGETS[index % TARGETS.length]!
  const s = rng.pick(seeds)
  const o = rng.pick(seeds)
  const otherBytes = plain(o.files[o.main]!)
  const files: Record<string, Buffer> = { ...s.files }
  // Mostly the main file; for bundles sometimes a sibling (the raw profile a capture names).
  const names = Object.keys(s.files)
  const victim = names.length > 1 && rng.chance(0.3) ? rng.pick(names.filter((n) => n !== s.main)) : s.main
  const wasGzip = isGzip(files[victim]!)
  let data = plain(files[victim]!)
  const mutations: string[] = []
  const r = rng.next()
  if (r < 0.04) {
    mutations.push('none')
  } else if (r < 0.041) {
    // Bombs are costly (300 MB of inflation), so rare.
    data = rng.chance(0.5) ? gzipBomb() : prefixedBomb(data.subarray(0, 4096))
    mutations.push('gzip-bomb')
  } else {
    const n = rng.pick([1, 1, 1, 2, 2, 3, 4])
    for (let k = 0; k < n; k++) {
      const m = rng.pick(MUTATIONS)
      data = m.apply(rng, data, otherBytes)
      mutations.push(m.name)
      // Keep cases cheap: growth mutations compound (repeat after repeat).
      if (data.length > MAX_CASE_BYTES) data = data.subarray(0, MAX_CASE_BYTES)
    }
  }
  if (!mutations.includes('gzip-bomb')) {
    if (rng.chance(0.18)) {
      const t = rng.pick(GZIP_TRICKS)
      data = t.apply(rng, data, otherBytes)
      mutations.push(t.name)
    } else if (wasGzip && rng.chance(0.6)) {
      data = gzipSync(data)
      mutations.push('regzip')
    }
  }
  files[victim] = data
  // A bundle as the other side would need its siblings: use a builtin single file then.
  const other = Object.keys(o.files).length > 1 ? seeds.find((x) => x.name === 'builtin/tiny.cpuprofile')! : o
  const otherName = `other-${other.main}`
  files[otherName] = other.files[other.main]!
  return { index, target, seed: s.name, mutations: victim === s.main ? mutations : mutations.map((m) => `${m}@${victim}`), files, main: s.main, other: otherName }
}
