// Output formats for `convert`. One entry per writer.
import type { Profile } from '../model/types.js'
import { mergeProfiles } from '../model/ops.js'
import { toFolded } from './folded.js'
import { toPprof } from './pprof-export.js'
import { toSpeedscope } from './speedscope-export.js'

export interface Exporter {
  readonly id: 'folded' | 'pprof' | 'speedscope'
  readonly extension: string
  write(profiles: readonly Profile[], name: string): string | Uint8Array
}

export const EXPORTERS: readonly Exporter[] = [
  { id: 'folded', extension: '.folded', write: (ps) => toFolded(ps.length === 1 ? ps[0]! : mergeProfiles(ps)) },
  { id: 'pprof', extension: '.pb.gz', write: (ps) => toPprof(ps.length === 1 ? ps[0]! : mergeProfiles(ps)) },
  { id: 'speedscope', extension: '.speedscope.json', write: (ps, name) => toSpeedscope(ps, name) },
]
