// yargs entry point: global flags, one command module per file, errors mapped to exit codes.
import { yargs } from '../vendor/cli-deps.js'
import { COMMANDS } from './commands/index.js'
import { topLevelExamples, withExamples } from './examples.js'
import { EXIT, MeshprofError, UsageError } from '../util/errors.js'
import { STDIN_MARKER } from '../formats/source.js'
import { VERSION } from '../version.js'

/** Run the CLI; resolves to the exit code. Never throws, never prints a stack trace (unless MESHPROF_DEBUG). */
export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.OK
  let usageFailure: string | undefined
  // yargs turns a lone '-' positional into ''; carry it through as a marker that openInput knows.
  const args = argv.map((a) => (a === '-' ? STDIN_MARKER : a))
  const parser = yargs(args)
    .scriptName('meshprof')
    .usage('$0 <command> [options]\n\nWhat is burning the CPU of your mesh: capture, rank, explain, draw, compare.')
    .option('color', { type: 'boolean', describe: "colour output (default: chalk's detection: a terminal, FORCE_COLOR, TERM; NO_COLOR turns it off)" })
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'say more (detected formats, timings)' })
    .version(VERSION)
    .help()
    .alias('help', 'h')
    .strict()
    .demandCommand(1, 'name a command (meshprof --help lists them)')
    .recommendCommands()
    .middleware((a) => {
      // Give commands back the '-' the user typed.
      for (const k of Object.keys(a)) {
        const v = a[k]
        if (v === STDIN_MARKER) a[k] = '-'
        else if (Array.isArray(v)) a[k] = v.map((x) => (x === STDIN_MARKER ? '-' : x))
      }
    }, true)
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err
      // Throwing stops yargs before any handler runs (bad --choices, missing args, unknown options).
      usageFailure = unknownOption(args, knownOptions(parser)) ?? msg
      throw new UsageError(usageFailure)
    })
  for (const c of COMMANDS) parser.command(withExamples(c) as never)
  parser.example(topLevelExamples(COMMANDS))
  skipHelpCache(parser)
  try {
    const result = (await parser.parseAsync()) as { exitCode?: number }
    if (usageFailure) {
      process.stderr.write(`meshprof: ${usageFailure}\n`)
      return EXIT.USAGE
    }
    exitCode = typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : exitCode
    void result
  } catch (e) {
    if (usageFailure !== undefined) {
      process.stderr.write(`meshprof: ${oneLine(usageFailure)}\n`)
      return EXIT.USAGE
    }
    return reportError(e)
  }
  return exitCode
}

/**
 * yargs lays out the running command's whole --help text each time a handler starts (cacheHelpMessage,
 * kept for a later showHelp()), measuring every word with string-width: 15-25 ms of every run. meshprof
 * never shows help after parsing (its .fail() prints one line), so the cache is never read. Internal
 * yargs API, hence the guards: if it changes, yargs simply does the work again.
 */
function skipHelpCache(parser: object): void {
  const internals = (parser as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } }).getInternalMethods?.()
  const usage = internals?.getUsageInstance?.()
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {}
}

/**
 * The first `--name` in args that is no option of the command line yargs is parsing, as yargs' own
 * strict message. yargs checks positionals first, so `fold --bogus x` (x taken as --bogus's value)
 * would otherwise be reported as a missing profile.
 */
export function unknownOption(args: readonly string[], known: readonly string[] | undefined): string | undefined {
  if (!known) return undefined
  const names = new Set(known.flatMap((k) => [k, k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)]))
  for (const a of args) {
    if (a === '--') break
    const m = /^--([^=]+)/.exec(a)
    if (!m) continue
    const name = m[1]!
    if (!names.has(name) && !(name.startsWith('no-') && names.has(name.slice(3)))) return `Unknown argument: ${name}`
  }
  return undefined
}

/** Option names of the command being parsed (yargs' getOptions(), untyped in @types/yargs; none if it changes). */
function knownOptions(parser: object): string[] | undefined {
  const get = (parser as { getOptions?: () => { key?: Record<string, unknown> } }).getOptions
  const key = typeof get === 'function' ? get.call(parser)?.key : undefined
  return key ? Object.keys(key) : undefined
}

export function reportError(e: unknown): number {
  if (process.env.MESHPROF_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`)
  if (e instanceof MeshprofError) {
    process.stderr.write(`meshprof: ${oneLine(e.message)}\n`)
    if (e.hint) process.stderr.write(`  hint: ${oneLine(e.hint)}\n`)
    return e.exitCode
  }
  const err = e as NodeJS.ErrnoException
  if (err?.code === 'EPIPE') return EXIT.OK
  if (err?.code === 'ENOENT' || err?.code === 'EACCES' || err?.code === 'EISDIR' || err?.code === 'ENOTDIR') {
    process.stderr.write(`meshprof: ${oneLine(err.message)}\n`)
    return EXIT.IO
  }
  if (err instanceof RangeError) {
    process.stderr.write(`meshprof: input too large or too deep to process: ${oneLine(err.message)}\n`)
    return EXIT.BAD_INPUT
  }
  process.stderr.write(`meshprof: internal error: ${oneLine(String(err?.message ?? e))} (set MESHPROF_DEBUG=1 for details)\n`)
  return EXIT.INTERNAL
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').slice(0, 2000)
}
