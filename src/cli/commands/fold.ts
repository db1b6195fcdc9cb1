import { promises as fsp } from 'node:fs'
import type { CommandModule } from 'yargs'
import { processIo } from '../io.js'
import { applyFilters, loadOptions, withFilterOptions, withInputOptions, writeOutput, type FilterArgs, type InputArgs } from '../common.js'
import { openInput, openStdinStream, type InputSource } from '../../formats/source.js'
import { detectFormat, formatEntry } from '../../formats/detect.js'
import { foldPerfScript } from '../../formats/perf-fold.js'
import type { LoadOptions } from '../../formats/index.js'
import type { PerfOptions } from '../../formats/types.js'
import type { Io } from '../io.js'

interface FoldArgs extends InputArgs, FilterArgs {
  profile: string
  output?: string
  pid?: boolean
  tid?: boolean
  kernel?: boolean
  jit?: boolean
  all?: boolean
  addrs?: boolean
  'event-filter'?: string
  'drop-last'?: boolean
}

async function isDirectory(path: string): Promise<boolean> {
  return path !== '-' && (await fsp.stat(path).then((s) => s.isDirectory(), () => false))
}

/** `meshprof fold`: any input -> folded stacks; perf script text streams straight through the folder. */
const fold: CommandModule<object, FoldArgs> = {
  command: 'fold <profile>',
  describe: 'write folded stacks (for flamegraph.pl, inferno, speedscope); perf script input matches stackcollapse-perf.pl',
  builder: (y) =>
    withFilterOptions(withInputOptions(y))
      .positional('profile', { type: 'string', demandOption: true, describe: 'profile file, or - for stdin' })
      .option('output', { alias: 'o', type: 'string', describe: 'write here instead of stdout' })
      .option('pid', { type: 'boolean', describe: 'perf: append the pid to the process name' })
      .option('tid', { type: 'boolean', describe: 'perf: append pid/tid to the process name' })
      .option('kernel', { type: 'boolean', describe: 'perf: annotate kernel frames with _[k]' })
      .option('jit', { type: 'boolean', describe: 'perf: annotate JIT frames with _[j]' })
      .option('all', { type: 'boolean', describe: 'perf: all annotations (kernel, jit, inline)' })
      .option('addrs', { type: 'boolean', describe: 'perf: show raw addresses for unknown symbols' })
      .option('event-filter', { type: 'string', describe: 'perf: keep only this event (default: the first one seen)' })
      .option('drop-last', { type: 'boolean', describe: 'perf: drop an unterminated last sample, exactly as stackcollapse-perf.pl does' }) as never,
  handler: async (a) => {
    const io = processIo(a)
    const perf: PerfOptions = { pid: a.pid, tid: a.tid, kernel: a.kernel, jit: a.jit, all: a.all, addrs: a.addrs, eventFilter: a['event-filter'], dropUnterminatedLast: a['drop-last'] }
    const profile = a.profile
    // Through the model: no demangling, so names stay those stackcollapse-perf.pl prints.
    const options = loadOptions(a, io, { perf: { ...perf, demangle: false } })
    let text: string | Buffer
    if (await isDirectory(profile)) {
      // A capture directory or a 0x folder: through the one loader, like every other command.
      text = await foldThroughModel(profile, options, a)
    } else {
      // stdin streams too (perf script | meshprof fold -): only its head is buffered for detection.
      const input = profile === '-' ? await openStdinStream() : await openInput(profile)
      const format = a.format ? formatEntry(a.format) : detectFormat(input)
      if (io.verbose) io.err(`meshprof: ${profile}: detected ${format.id}${input.gzipped ? ' (gzip)' : ''}\n`)
      if (format.id === 'perf-script' && !a.focus && !a.ignore && !a.hide && !a.thread) text = await foldPerf(input, perf, io)
      else text = await foldThroughModel(input, { ...options, format: format.id, onDetect: undefined }, a)
    }
    if (a.output) await writeOutput(a.output, text)
    else io.out(text)
  },
}
export default fold

/** perf script straight through the folder (no model): bytes, byte-identical to stackcollapse-perf.pl even for non-UTF-8 names. */
async function foldPerf(input: InputSource, perf: PerfOptions, io: Io): Promise<Buffer> {
  const r = await foldPerfScript(input, perf, { warn: (m) => io.err(`meshprof: note: ${m}\n`) })
  if (io.verbose) io.err(`meshprof: ${input.name}: ${r.stats.samples} samples, ${r.stats.uniqueStacks} unique stacks, ${r.stats.threads} thread(s)\n`)
  return r.output
}

/** Any other input (or filters): loaded into the model, filtered, folded. The model loads only here. */
async function foldThroughModel(from: string | InputSource, options: LoadOptions, a: FilterArgs): Promise<string> {
  const [{ loadProfiles, loadFromSource }, { toFolded }, { mergeProfiles }] = await Promise.all([
    import('../../formats/index.js'),
    import('../../formats/folded.js'),
    import('../../model/ops.js'),
  ])
  const { profiles } = typeof from === 'string' ? await loadProfiles(from, options) : await loadFromSource(from, options)
  return toFolded(await applyFilters(profiles.length === 1 ? profiles[0]! : mergeProfiles(profiles), a))
}
