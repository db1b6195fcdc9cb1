// Shared pieces of the command modules: input options, loading with --verbose, safe output writes.
import { promises as fsp } from 'node:fs'
import { dirname, basename, join } from 'node:path'
import type { Argv } from 'yargs'
import { loadProfile, loadProfiles, FORMAT_IDS, type LoadOptions } from '../formats/index.js'
import type { Profile } from '../model/types.js'
import { filterProfile, threadNames } from '../model/ops.js'
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
    .option('format', { type: 'string', choices: FORMAT_IDS, describe: 'input format (default: detected from the content)' })
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

export function applyFilters(p: Profile, a: FilterArgs): Profile {
  return applyFiltersAll([p], a)[0]!
}

/**
 * The filters on several profiles (a mesh directory): --thread must match a thread of at least one
 * of them; a profile without one keeps no samples.
 */
export function applyFiltersAll(ps: readonly Profile[], a: FilterArgs): Profile[] {
  const thread = regexOption('thread', a.thread)
  if (thread) {
    const names = [...new Set(ps.flatMap((p) => threadNames(p)))]
    if (!names.some((n) => thread.test(n))) {
      throw new UsageError(`--thread ${a.thread}: no thread matches; ${names.length ? `threads: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, and ${names.length - 12} more` : ''}` : 'the profile has no thread roots (a capture with worker threads, or perf script with --tid)'}`)
    }
  }
  const opts = { focus: regexOption('focus', a.focus), ignore: regexOption('ignore', a.ignore), hide: regexOption('hide', a.hide), thread }
  return ps.map((p) => filterProfile(p, opts))
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

export async function loadInput(path: string, a: InputArgs, io: Io, extra: Partial<LoadOptions> = {}): Promise<Profile> {
  return loadProfile(path, loadOptions(a, io, extra))
}

export { loadProfiles }

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
