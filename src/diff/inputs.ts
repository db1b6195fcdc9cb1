// One side of a diff from what the user typed: a profile file of any format meshprof reads, or a
// directory of captures (HELPERS.md "Capture file": its mesh.json, else every *.capture.json in it),
// which becomes one node per process. Several profiles inside one file (threads) are one node.
import { promises as fsp } from 'node:fs'
import { basename, join, resolve, dirname } from 'node:path'
import { loadProfiles, type LoadOptions } from '../formats/index.js'
import { mergeProfiles } from '../model/ops.js'
import type { Profile } from '../model/types.js'
import { EXIT, MalformedInputError, MeshprofError } from '../util/errors.js'
import { ioError } from '../formats/source.js'
import type { DiffInput, DiffNodeInput } from './types.js'

/** Process name for captures (stable across runs, unlike pids), else the file name. */
function nodeName(p: Profile, file: string): string {
  if (file.endsWith('.capture.json')) {
    if (p.meta.name) return p.meta.name
    if (p.meta.pid !== undefined) return `pid ${p.meta.pid}`
  }
  return basename(file)
}

/**
 * The nodes one file stands for: a mesh.json (format 'capture', one profile per process) is one node
 * per process; any other file is one node, its profiles (threads) merged.
 */
async function loadNodes(file: string, options: LoadOptions): Promise<DiffNodeInput[]> {
  const { format, profiles } = await loadProfiles(file, options)
  if (format === 'capture' && profiles.length > 1 && profiles.every((p) => p.meta.pid !== undefined)) {
    return profiles.map((p) => ({ name: p.meta.name ?? `pid ${p.meta.pid}`, file: String(p.meta.extra?.capture ?? file), format, profile: p }))
  }
  const profile = profiles.length === 1 ? profiles[0]! : mergeProfiles(profiles)
  return [{ name: nodeName(profile, file), file, format, profile }]
}

/** The capture files a directory stands for, in a stable order. */
export async function captureFilesIn(dir: string): Promise<string[]> {
  const meshJson = join(dir, 'mesh.json')
  let text: string | undefined
  try {
    text = await fsp.readFile(meshJson, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(meshJson, e)
  }
  if (text !== undefined) {
    let j: unknown
    try {
      j = JSON.parse(text)
    } catch (e) {
      throw new MalformedInputError('mesh-capture', `${meshJson}: not valid JSON (${(e as Error).message})`)
    }
    const caps = (j as { captures?: unknown })?.captures
    if ((j as { meshprof?: unknown })?.meshprof !== 'mesh-capture' || !Array.isArray(caps) || !caps.every((c) => typeof c === 'string')) {
      throw new MalformedInputError('mesh-capture', `${meshJson}: expected {"meshprof":"mesh-capture","captures":[...]}`)
    }
    // Names are relative to the directory and must stay inside it.
    const root = resolve(dir)
    return (caps as string[]).map((c) => {
      const p = resolve(root, c)
      if (dirname(p) !== root && !p.startsWith(root + '/')) throw new MalformedInputError('mesh-capture', `${meshJson}: capture path ${JSON.stringify(c)} leaves the directory`)
      return p
    })
  }
  let entries: string[]
  try {
    entries = await fsp.readdir(dir)
  } catch (e) {
    throw ioError(dir, e)
  }
  return entries.filter((e) => e.endsWith('.capture.json')).sort().map((e) => join(dir, e))
}

/** Load one side of the diff. Missing paths are exit 3, unreadable content exit 4 (errors.ts). */
export async function loadDiffInput(path: string, options: LoadOptions = {}): Promise<DiffInput> {
  let isDir = false
  if (path !== '-') {
    try {
      isDir = (await fsp.stat(path)).isDirectory()
    } catch (e) {
      throw ioError(path, e)
    }
  }
  if (!isDir) return { label: path, nodes: await loadNodes(path, options) }
  const files = await captureFilesIn(path)
  if (files.length === 0) throw new MeshprofError(`${path}: directory holds no mesh.json and no *.capture.json`, EXIT.IO)
  const nodes: DiffNodeInput[] = []
  for (const f of files) nodes.push(...(await loadNodes(f, options)))
  return { label: path, nodes }
}

/** All nodes of a side as one profile (for the flamegraph and difffolded output). */
export function mergedProfile(side: DiffInput): Profile {
  return side.nodes.length === 1 ? side.nodes[0]!.profile : mergeProfiles(side.nodes.map((n) => n.profile))
}
