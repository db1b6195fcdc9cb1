// Output formats for `convert`: the exporter registry. One entry per writer; `convert` takes its
// choices and help from here, so a new export format is one module plus one line. The writers load
// when used: `convert --help` and the other commands never need them.
import type { Profile } from '../model/types.js'

export interface Exporter {
  readonly id: string
  /** What `convert --help` calls it. */
  readonly title: string
  readonly extension: string
  write(profiles: readonly Profile[], name: string): Promise<string | Uint8Array>
}

export const EXPORTERS: readonly Exporter[] = [
  { id: 'folded', title: 'folded stacks', extension: '.folded', write: async (ps) => (await import('./folded.js')).toFolded(await merged(ps)) },
  { id: 'pprof', title: 'pprof (gzipped protobuf)', extension: '.pb.gz', write: async (ps) => (await import('./pprof-export.js')).toPprof(await merged(ps)) },
  { id: 'speedscope', title: 'speedscope JSON', extension: '.speedscope.json', write: async (ps, name) => (await import('./speedscope-export.js')).toSpeedscope(ps, name) },
]

async function merged(ps: readonly Profile[]): Promise<Profile> {
  return ps.length === 1 ? ps[0]! : (await import('../model/ops.js')).mergeProfiles(ps)
}

export const EXPORTER_IDS = EXPORTERS.map((e) => e.id)

/** `convert`'s description, from the registry: "a, b or c". */
export const EXPORTERS_DESCRIPTION = EXPORTERS.map((e) => e.title).join(', ').replace(/, ([^,]*)$/, ' or $1')
