import { basename } from 'node:path'
import type { CommandModule } from 'yargs'
import { processIo } from '../io.js'
import { loadOptions, loadProfiles, regexOption, withFilterOptions, withInputOptions, type FilterArgs, type InputArgs } from '../common.js'
import type { Profile } from '../../model/types.js'
import type { Io } from '../io.js'
import { checkOpenTarget, openPage } from '../open-page.js'

export interface FlamegraphArgs extends InputArgs, FilterArgs {
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
    // The page's renderer and the analyze rules load only when a page is drawn.
    const { writeFlamegraph } = await import('../flamegraph-page.js')
    await writeFlamegraph(a.profile, out, a, io)
    if (a.open) await openPage(out, io)
  },
}
export default cmd
