import { basename } from 'node:path'
import type { CommandModule } from 'yargs'
import { processIo } from '../io.js'
import { applyFilters, loadOptions, loadProfiles, regexOption, withFilterOptions, withInputOptions, writeHtmlOutput, type FilterArgs, type InputArgs } from '../common.js'
import { renderFlamegraphHtml, type FindingLike } from '../../render/html/flamegraph.js'
import { mergeProfiles } from '../../model/ops.js'
import { analyzeProfile } from '../../analyze/index.js'
import type { Profile } from '../../model/types.js'
import type { Io } from '../io.js'
import { checkOpenTarget, openPage } from '../open-page.js'

interface FlamegraphArgs extends InputArgs, FilterArgs {
  profile: string
  output?: string
  title?: string
  icicle?: boolean
  highlight?: string
  findings?: boolean
  open?: boolean
}

/** Above this many stack nodes the analyze rules run only with --findings (they can take seconds). */
export const AUTO_FINDINGS_MAX_STACKS = 50_000

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

/** `prof.pb.gz` -> `prof.flamegraph.html` in the current directory. */
export function defaultHtmlName(input: string, suffix: string): string {
  if (input === '-') return `stdin.${suffix}.html`
  const b = basename(input).replace(/\.gz$/i, '').replace(/\.(cpuprofile|folded|txt|json|pb|pprof|prof|perf|collapsed|speedscope)$/i, '').replace(/\.(capture|perf|speedscope)$/i, '')
  return `${b || 'profile'}.${suffix}.html`
}

/** Every profile in a file or a directory (capture directory, 0x folder). */
export async function loadAll(path: string, a: InputArgs, io: Io): Promise<Profile[]> {
  return (await loadProfiles(path, loadOptions(a, io))).profiles
}

/** The flamegraph page of a profile or capture directory, written to `out` (also `capture/run --flamegraph`). */
export async function writeFlamegraph(input: string, out: string, a: InputArgs & FilterArgs & Pick<FlamegraphArgs, 'title' | 'icicle' | 'highlight' | 'findings'>, io: Io): Promise<void> {
  const profiles = await loadAll(input, a, io)
  const filtered = profiles.map((x) => applyFilters(x, a))
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

const cmd: CommandModule<object, FlamegraphArgs> = {
  command: 'flamegraph <profile>',
  describe: 'write one self-contained interactive flamegraph HTML file (offline, no network)',
  builder: (y) =>
    withFilterOptions(withInputOptions(y))
      .positional('profile', { type: 'string', demandOption: true, describe: 'any profile meshprof reads, a capture directory, or - for stdin' })
      .option('output', { alias: 'o', type: 'string', describe: 'HTML file to write; - for stdout (default: <profile>.flamegraph.html)' })
      .option('title', { type: 'string', describe: 'page title (default: the process or file name)' })
      .option('icicle', { type: 'boolean', describe: 'open in icicle layout (root on top)' })
      .option('highlight', { type: 'string', describe: 'highlight frames matching this regex when the page opens' })
      .option('open', { type: 'boolean', describe: 'open the page in your browser ($BROWSER, else the system default)' })
      .option('findings', { type: 'boolean', describe: `findings panel from the analyze rules (default: on up to ${AUTO_FINDINGS_MAX_STACKS.toLocaleString('en-US')} stack nodes; --no-findings: off)` })
      .example('meshprof flamegraph capture.json -o flame.html', 'one self-contained page, works offline')
      .example('meshprof flamegraph perf.txt --icicle --title "gossip node 3"', 'root on top, own title')
      .example("meshprof flamegraph prof.pb.gz --highlight 'connect|handshake'", 'open with those frames highlighted') as never,
  handler: async (a) => {
    const io = processIo(a)
    regexOption('highlight', a.highlight)
    checkOpenTarget(a.open, a.output ?? defaultHtmlName(a.profile, 'flamegraph'), '-o')
    const out = a.output ?? defaultHtmlName(a.profile, 'flamegraph')
    await writeFlamegraph(a.profile, out, a, io)
    if (a.open) await openPage(out, io)
  },
}
export default cmd
