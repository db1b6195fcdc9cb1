// The one loader every command reads inputs through (files, stdin, and directories: a capture
// directory, a `<pid>.0x/` folder); the registry and detection are detect.ts. Importers never
// import this module: what they need of it comes in an ImportContext.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { Profile } from '../model/types.js'
import { mergeProfiles } from '../model/ops.js'
import { EXIT, MalformedInputError, MeshprofError } from '../util/errors.js'
import { openInput, decodeText, ioError, STDIN_MARKER, type InputSource } from './source.js'
import type { DirectoryListing, ImportContext, Importer, LoadOptions, Loaded } from './types.js'
import { withSampleType } from './shared.js'
import { FORMATS, FORMAT_IDS, detectFormat, formatEntry } from './detect.js'

export { FORMAT_IDS, detectFormat, formatEntry }

/** Every importer, in detection order (each module is loaded here: tests and docs use the list). */
export async function loadImporters(): Promise<Importer[]> {
  return Promise.all(FORMATS.map((f) => f.importer()))
}

export type { LoadOptions, Loaded }

const CONTEXT: ImportContext = { load: (path, options) => loadProfiles(path, options) }

/**
 * Read one input and return every profile in it: a file, '-' (stdin), or a directory. This is the
 * only way in for every command, so they all treat a directory the same.
 */
export async function loadProfiles(path: string, options: LoadOptions = {}): Promise<Loaded> {
  if (path !== '-' && path !== STDIN_MARKER && (await isDirectory(path))) return loadDirectory(path, options)
  const input = await openInput(path)
  return loadFromSource(input, options)
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await fsp.stat(path)).isDirectory()
  } catch {
    return false // openInput reports a missing / unreadable path with its exit code
  }
}

/** Entries beyond this are not sniffed: a folder a tool wrote holds a handful of files. */
const MAX_SNIFFED_ENTRIES = 256

function listingOf(dir: string, names: string[]): DirectoryListing {
  let sniffed = 0
  return {
    path: dir,
    names,
    async head(name) {
      const path = join(dir, name)
      try {
        if (!(await fsp.stat(path)).isFile() || ++sniffed > MAX_SNIFFED_ENTRIES) return undefined
        const input = await openInput(path)
        return { head: input.head, text: decodeText(input.head) }
      } catch {
        return undefined // unreadable members are simply not candidates
      }
    },
  }
}

/**
 * A directory as a whole: the first importer whose readDirectory recognises it (the capture
 * directory: its mesh.json, else every *.capture.json; a `<pid>.0x/` folder). Nothing recognised
 * is bad input (exit 4), for every command.
 */
async function loadDirectory(dir: string, options: LoadOptions): Promise<Loaded> {
  let names: string[]
  try {
    names = (await fsp.readdir(dir)).sort()
  } catch (e) {
    throw ioError(dir, e)
  }
  const listing = listingOf(dir, names)
  const formats = options.format ? [formatEntry(options.format)] : FORMATS.filter((f) => f.readsDirectories)
  for (const f of formats) {
    const imp = await f.importer()
    const profiles = await imp.readDirectory?.(listing, { ...options, format: undefined }, CONTEXT)
    if (profiles === undefined) continue
    if (profiles.length === 0) throw new MalformedInputError(imp.id, `${dir} holds no profile`)
    for (const p of profiles) p.meta.sourceFormat ??= imp.id
    return { format: imp.id, profiles }
  }
  throw new MeshprofError(`${dir}: directory holds no capture and no profile folder meshprof reads (no mesh.json, no *.capture.json, no 0x / node --prof files)`, EXIT.BAD_INPUT)
}

export async function loadFromSource(input: InputSource, options: LoadOptions = {}): Promise<Loaded> {
  const imp = await (options.format ? formatEntry(options.format) : detectFormat(input)).importer()
  options.onDetect?.(input.name, imp.id, input.gzipped)
  let profiles: Profile[]
  try {
    profiles = await imp.parse(input, options, CONTEXT)
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
