// The flamegraph page of profiles, with the analyze rules' findings panel: `flamegraph`, and
// `capture`/`run --flamegraph`. Apart from the command module so that only runs drawing a page load
// the renderer and the rules.
import { renderFlamegraphHtml, type FindingLike } from '../render/html/flamegraph.js'
import { mergeProfiles } from '../model/ops.js'
import { analyzeProfile } from '../analyze/index.js'
import type { Profile } from '../model/types.js'
import { applyFiltersAll, writeHtmlOutput, type FilterArgs, type InputArgs } from './common.js'
import type { Io } from './io.js'
import { AUTO_FINDINGS_MAX_STACKS, loadAll, type FlamegraphArgs } from './commands/flamegraph.js'

/**
 * The findings panel: the analyze rules' (automatically for profiles up to AUTO_FINDINGS_MAX_STACKS
 * stack nodes, always with --findings); none with --no-findings.
 */
export function findingsFor(input: Profile | readonly Profile[], flag: boolean | undefined, io: Pick<Io, 'err' | 'verbose'>): FindingLike[] | undefined {
  if (flag === false) return []
  // Each process is analysed on its own (its network evidence and CPU time belong to it), never the
  // merged mesh; with several, a finding's title names its process.
  const ps = Array.isArray(input) ? (input as readonly Profile[]) : [input as Profile]
  const stacks = ps.reduce((n, p) => n + p.stackFrame.length, 0)
  if (flag === undefined && stacks > AUTO_FINDINGS_MAX_STACKS) {
    if (io.verbose) io.err(`meshprof: ${stacks} stack nodes: not running the analyze rules for the findings panel (use --findings)\n`)
    return undefined
  }
  try {
    return ps.flatMap((p, i) =>
      analyzeProfile(p).map((f) => ({
        ruleId: f.ruleId,
        severity: f.severity,
        title: ps.length > 1 ? `${p.meta.name ?? `profile ${i + 1}`}: ${f.title}` : f.title,
        share: f.share,
        frames: [...f.frames],
        ...(f.message ? { message: f.message } : {}),
      })),
    )
  } catch (e) {
    if (io.verbose) io.err(`meshprof: warning: analyze rules failed, no findings panel: ${(e as Error)?.message ?? String(e)}\n`)
    return undefined
  }
}

/** The flamegraph page of a profile or capture directory, written to `out` (also `capture/run --flamegraph`). */
export async function writeFlamegraph(input: string, out: string, a: InputArgs & FilterArgs & Pick<FlamegraphArgs, 'title' | 'icicle' | 'highlight' | 'findings'>, io: Io): Promise<void> {
  const profiles = await loadAll(input, a, io)
  const filtered = await applyFiltersAll(profiles, a)
  const p = filtered.length === 1 ? filtered[0]! : mergeProfiles(filtered)
  const findings = findingsFor(filtered, a.findings, io)
  const html = renderFlamegraphHtml(p, {
    ...(findings !== undefined ? { findings } : {}),
    ...(a.title !== undefined ? { title: a.title } : {}),
    ...(a.icicle ? { icicle: true } : {}),
    ...(a.highlight ? { highlight: a.highlight } : {}),
  })
  await writeHtmlOutput(out, html, io)
}
