// Format registry and content-based detection. Order matters: binary and JSON formats with
// unmistakable keys first, then the permissive text formats.
import type { Profile } from '../model/types.js'
import { mergeProfiles } from '../model/ops.js'
import { EXIT, MalformedInputError, MeshprofError, UnrecognizedFormatError, UsageError } from '../util/errors.js'
import { openInput, decodeText, type InputSource } from './source.js'
import type { FormatId, ImportOptions, Importer } from './types.js'
import { withSampleType } from './shared.js'
import { captureImporter } from './capture-file.js'
import { pprofImporter } from './pprof.js'
import { cpuprofileImporter } from './cpuprofile.js'
import { speedscopeImporter } from './speedscope.js'
import { perfScriptImporter } from './perf-script.js'
import { foldedImporter } from './folded.js'

export const IMPORTERS: readonly Importer[] = [
  captureImporter,
  cpuprofileImporter,
  speedscopeImporter,
  pprofImporter,
  perfScriptImporter,
  foldedImporter,
]

export const FORMAT_IDS = IMPORTERS.map((i) => i.id)

export function importerFor(id: string): Importer {
  const imp = IMPORTERS.find((i) => i.id === id)
  if (!imp) throw new UsageError(`unknown format '${id}' (known: ${FORMAT_IDS.join(', ')})`)
  return imp
}

/** Which importer reads this content. */
export function detectFormat(input: InputSource): Importer {
  const text = decodeText(input.head)
  for (const imp of IMPORTERS) {
    let yes = false
    try {
      yes = imp.sniff(input.head, text)
    } catch {
      yes = false
    }
    if (yes) return imp
  }
  if (input.head.length === 0) throw new MeshprofError(`${input.name}: empty input, no profile in it`, EXIT.BAD_INPUT)
  throw new UnrecognizedFormatError(input.name, FORMAT_IDS)
}

export interface LoadOptions extends ImportOptions {
  /** Force a format instead of detecting it (`--format`). */
  format?: string
  /** Called with the detected format id (`--verbose`). */
  onDetect?: (file: string, format: FormatId, gzipped: boolean) => void
}

export interface Loaded {
  format: FormatId
  profiles: Profile[]
}

/** Read one file and return every profile in it. */
export async function loadProfiles(path: string, options: LoadOptions = {}): Promise<Loaded> {
  const input = await openInput(path)
  return loadFromSource(input, options)
}

export async function loadFromSource(input: InputSource, options: LoadOptions = {}): Promise<Loaded> {
  const imp = options.format ? importerFor(options.format) : detectFormat(input)
  options.onDetect?.(input.name, imp.id, input.gzipped)
  let profiles: Profile[]
  try {
    profiles = await imp.parse(input, options)
  } catch (e) {
    if (e instanceof MeshprofError) throw e
    if (e instanceof RangeError) throw new MalformedInputError(imp.id, `${input.name}: ${e.message}`)
    throw new MalformedInputError(imp.id, `${input.name}: ${(e as Error)?.message ?? String(e)}`)
  }
  if (profiles.length === 0) throw new MalformedInputError(imp.id, `${input.name} holds no profile`)
  // --sample-type works the same for every format: it picks the column reports use.
  profiles = withSampleType(profiles, options.sampleType)
  for (const p of profiles) p.meta.sourceFormat ??= imp.id
  return { format: imp.id, profiles }
}

/** Read one file as a single profile (several profiles in one file are merged). */
export async function loadProfile(path: string, options: LoadOptions = {}): Promise<Profile> {
  const { profiles } = await loadProfiles(path, options)
  return profiles.length === 1 ? profiles[0]! : mergeProfiles(profiles)
}
