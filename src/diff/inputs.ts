// One side of a diff from what the user typed: a profile file of any format meshprof reads, or a
// directory (a capture directory, docs/capture-format.md: its mesh.json, else every *.capture.json;
// a `<pid>.0x/` folder). Directories are read by the one loader every command uses
// (formats/index.ts loadProfiles). Captures become one node per process; several profiles of one
// capture or one file (threads) are one node.
import { basename } from 'node:path'
import { loadProfiles, type LoadOptions } from '../formats/index.js'
import { mergeProfiles } from '../model/ops.js'
import type { Profile } from '../model/types.js'
import type { DiffInput, DiffNodeInput } from './types.js'

/** Load one side of the diff. Missing paths are exit 3, unreadable content exit 4 (errors.ts). */
export async function loadDiffInput(path: string, options: LoadOptions = {}): Promise<DiffInput> {
  const { format, profiles } = await loadProfiles(path, options)
  if (format !== 'capture') {
    const profile = profiles.length === 1 ? profiles[0]! : mergeProfiles(profiles)
    return { label: path, nodes: [{ name: basename(path), file: path, format, profile }] }
  }
  // One node per capture file, named by process (stable across runs, unlike pids).
  const byCapture = new Map<string, Profile[]>()
  for (const p of profiles) {
    const cap = typeof p.meta.extra?.capture === 'string' ? p.meta.extra.capture : path
    byCapture.set(cap, [...(byCapture.get(cap) ?? []), p])
  }
  const nodes: DiffNodeInput[] = []
  for (const [file, ps] of byCapture) {
    const profile = ps.length === 1 ? ps[0]! : mergeProfiles(ps)
    const name = profile.meta.name ?? (profile.meta.pid !== undefined ? `pid ${profile.meta.pid}` : basename(file))
    nodes.push({ name, file, format, profile })
  }
  return { label: path, nodes }
}

/** All nodes of a side as one profile (for the flamegraph and difffolded output). */
export function mergedProfile(side: DiffInput): Profile {
  return side.nodes.length === 1 ? side.nodes[0]!.profile : mergeProfiles(side.nodes.map((n) => n.profile))
}
