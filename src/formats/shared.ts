// Small helpers shared by the pprof, cpuprofile and speedscope importers.
import type { Profile, ValueType } from '../model/types.js'
import { UsageError } from '../util/errors.js'

/** Module of a JS frame: the npm package for node_modules paths, else the script URL itself. */
export function jsModuleOf(url: string): string {
  const i = url.lastIndexOf('node_modules/')
  if (i >= 0) {
    const rest = url.slice(i + 'node_modules/'.length)
    const parts = rest.split('/')
    if (parts[0]?.startsWith('@') && parts.length > 1) return `${parts[0]}/${parts[1]}`
    if (parts[0]) return parts[0]
  }
  return url
}

/**
 * Which value column `--sample-type` names: a type name (`cpu`, `alloc_space`), `type/unit`, or a
 * 0-based index, as `go tool pprof -sample_index` accepts. Unknown: a usage error listing them.
 */
export function pickSampleType(types: readonly ValueType[], want: string): number {
  let i = types.findIndex((t) => t.type === want)
  if (i < 0) i = types.findIndex((t) => `${t.type}/${t.unit}` === want)
  if (i < 0 && /^\d+$/.test(want) && Number(want) < types.length) i = Number(want)
  if (i < 0) {
    const list = types.map((t, j) => `${j}: ${t.type}/${t.unit}`).join(', ')
    throw new UsageError(`--sample-type '${want}' is not in this profile; available: ${list}`)
  }
  return i
}

/** Profiles with their default column set by `--sample-type` (unchanged when it is not given). */
export function withSampleType(ps: Profile[], want: string | undefined): Profile[] {
  if (want === undefined || want === '') return ps
  return ps.map((p) => ({ ...p, defaultValue: pickSampleType(p.valueTypes, want) }))
}
