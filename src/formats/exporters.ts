// Output formats for `convert`: the exporter registry. One entry per writer; `convert` takes its
// choices and help from here, so a new export format is one module plus one line.
import type { Profile } from '../model/types.js'
import { mergeProfiles } from '../model/ops.js'
import { toFolded } from './folded.js'
import { toPprof } from './pprof-export.js'
import { toSpeedscope } from './speedscope-export.js'

export interface Exporter {
  readonly id: string
  /** What `convert --help` calls it. */
  readonly title: string
  readonly extension: string
  write(profiles: readonly Profile[], name: string): string | Uint8Array
}

export const EXPORTERS: readonly Exporter[] = [
  { id: 'folded', title: 'folded stacks', extension: '.folded', write: (ps) => toFolded(ps.length === 1 ? ps[0]! : mergeProfiles(ps)) },
  { id: 'pprof', title: 'pprof (gzipped protobuf)', extension: '.pb.gz', write: (ps) => toPprof(ps.length === 1 ? ps[0]! : mergeProfiles(ps)) },
  { id: 'speedscope', title: 'speedscope JSON', extension: '.speedscope.json', write: (ps, name) => toSpeedscope(ps, name) },
]

export const EXPORTER_IDS = EXPORTERS.map((e) => e.id)

/** `convert`'s description, from the registry: "a, b or c". */
export const EXPORTERS_DESCRIPTION = EXPORTERS.map((e) => e.title).join(', ').replace(/, ([^,]*)$/, ' or $1')
