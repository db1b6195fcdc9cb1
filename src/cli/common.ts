// Shared pieces of the command modules: input options, loading with --verbose, safe output writes.
import { promises as fsp } from 'node:fs'
import { dirname, basename, join } from 'node:path'
import type { Argv } from 'yargs'
import { FORMAT_IDS } from '../formats/detect.js'
import type { LoadOptions, Loaded } from '../formats/index.js'
import type { Profile } from '../model/types.js'
import { EXIT, MeshprofError, UsageError } from '../util/errors.js'
import type { Io } from './io.js'

export interface InputArgs {
  format?: string
  'sample-type'?: string
  verbose?: boolean
  color?: boolean
  tid?: boolean
}

/** --format / --sample-type, shared by every command that reads a profile. */
export function withInputOptions<T>(y: Argv<T>) {
  return y
    .option('format', { type: 'string', choices: [...FORMAT_IDS], describe: 'input format (default: detected from the content)' })
    .option('sample-type', { type: 'string', describe: 'value column to use, any format: a type name (cpu, samples, alloc_space), type/unit or index (default: the format\'s own, for pprof the last one as go tool pprof)' })
    .option('tid', { type: 'boolean', describe: 'perf script: one root per thread, named comm-pid/tid (as stackcollapse-perf.pl --tid), instead of one per process name' })
}

export interface FilterArgs {
  focus?: string
  ignore?: string
  hide?: string
  thread?: string
}

export function withFilterOptions<T>(y: Argv<T>) {
  return y
    .option('focus', { type: 'string', describe: 'keep only samples with a frame matching this regex' })
    .option('ignore', { type: 'string', describe: 'drop samples with a frame matching this regex' })
    .option('hide', { type: 'string', describe: 'remove frames matching this regex from stacks (keep the samples)' })
    .option('thread', { type: 'string', describe: "keep only the threads whose name matches this regex (a capture's [main] / [worker N] name roots; perf's process or thread roots, see --tid)" })
}

export function regexOption(name: string, src: string | undefined): RegExp | undefined {
  if (src === undefined || src === '') return undefined
  try {
    return new RegExp(src)
  } catch (e) {
    throw new UsageError(`--${name}: invalid regular expression: ${(e as Error).message}`)
  }
}

export function loadOptions(a: InputArgs, io: Io, extra: Partial<LoadOptions> = {}): LoadOptions {
  return {
    format: a.format,
    sampleType: a['sample-type'],
    ...(a.tid ? { perf: { tid: true } } : {}),
    warn: (m) => { if (io.verbose) io.err(`meshprof: warning: ${m}\n`) },
    onDetect: (file, format, gz) => { if (io.verbose) io.err(`meshprof: ${file}: detected ${format}${gz ? ' (gzip)' : ''}\n`) },
    ...extra,
  }
}

// The loader (and through it the model and every importer) loads when a command reads a profile,
// not when the CLI starts: `fold` of perf script text never needs it.

export async function loadInput(path: string, a: InputArgs, io: Io, extra: Partial<LoadOptions> = {}): Promise<Profile> {
  return (await import('../formats/index.js')).loadProfile(path, loadOptions(a, io, extra))
}

export async function loadProfiles(path: string, options: LoadOptions = {}): Promise<Loaded> {
  return (await import('../formats/index.js')).loadProfiles(path, options)
}

/** --focus / --ignore / --hide / --thread (filters.ts). */
export async function applyFilters(p: Profile, a: FilterArgs): Promise<Profile> {
  return (await import('./filters.js')).applyFilters(p, a)
}

export async function applyFiltersAll(ps: readonly Profile[], a: FilterArgs): Promise<Profile[]> {
  return (await import('./filters.js')).applyFiltersAll(ps, a)
}

/**
 * mkdir -p, one level at a time: Node 20's recursive mkdir never settles on some procfs paths
 * (e.g. `-o /proc/x/y`), which would hang the command.
 */
async function mkdirp(dir: string): Promise<void> {
  const missing: string[] = []
  let d = dir
  for (;;) {
    try {
      const st = await fsp.stat(d)
      if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a directory`), { code: 'ENOTDIR' })
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      missing.push(d)
      const up = dirname(d)
      if (up === d) break
      d = up
    }
  }
  for (const m of missing.reverse()) await fsp.mkdir(m).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'EEXIST') throw e })
}

/** Write a file atomically (temp + rename) so a crash never leaves half an output. */
export async function writeOutput(path: string, data: string | Uint8Array): Promise<void> {
  if (path === '-') {
    await new Promise<void>((res, rej) => process.stdout.write(data, (e) => (e ? rej(e) : res())))
    return
  }
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`)
  try {
    await mkdirp(dir)
    await fsp.writeFile(tmp, data)
    await fsp.rename(tmp, path)
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => {})
    const code = (e as NodeJS.ErrnoException).code
    throw new MeshprofError(`cannot write ${path}: ${code === 'EACCES' ? 'permission denied' : (e as Error).message}`, EXIT.IO)
  }
}

/** Write a generated HTML page to `out` ('-' = stdout) and say where it went. */
export async function writeHtmlOutput(out: string, html: string, io: Io): Promise<void> {
  if (out === '-') {
    io.out(html)
    return
  }
  await writeOutput(out, html)
  io.err(`meshprof: wrote ${out} (${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB)\n`)
}
