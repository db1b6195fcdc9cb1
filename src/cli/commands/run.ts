// `meshprof run [-d 15s] [-o DIR] -- cmd args...`: launch with the agent preloaded and profile every
// Node process of the command until it exits, -d passes, or Ctrl-C.
import type { CommandModule } from 'yargs'
import { processIo, type Io } from '../io.js'
import type { RunOutcome } from '../../capture/run.js'
import { UsageError } from '../../util/errors.js'
import { StatusLine } from '../status-line.js'
import { DEFAULT_RATE_HZ, defaultOutDir, interruptible, outcomeCode, parseDuration, parseRate, printOutcome, warmSummary, writeCaptureFlamegraph } from './capture.js'

interface RunArgs {
  cmd?: Array<string | number>
  '--'?: Array<string | number>
  duration?: string
  rate: number
  output?: string
  json?: boolean
  heap?: boolean
  stop?: boolean
  top: number
  flamegraph?: string
  color?: boolean
  verbose?: boolean
}

const cmd: CommandModule<object, RunArgs> = {
  command: 'run [cmd..]',
  describe: 'launch a command with the meshprof agent preloaded and profile it (every Node process it starts)',
  builder: (y) =>
    y
      .parserConfiguration({ 'populate--': true, 'parse-positional-numbers': false } as never)
      .positional('cmd', { type: 'string', array: true, describe: 'command and its arguments (after --)' })
      .option('duration', { alias: 'd', type: 'string', describe: 'profile at most this long (default: until it exits); the command keeps running after it unless --stop' })
      .option('stop', { type: 'boolean', describe: 'at the end of -d, stop the command (SIGTERM to its process group, SIGKILL after 3 s)' })
      .option('rate', { type: 'number', default: DEFAULT_RATE_HZ, describe: 'sampling frequency, Hz' })
      .option('output', { alias: 'o', type: 'string', describe: 'output directory (default ./meshprof-captures/<time>/)' })
      .option('top', { alias: 'n', type: 'number', default: 10, describe: 'hot frames to print' })
      .option('heap', { type: 'boolean', describe: 'also live heap by allocation site (node-<pid>.heap.pb.gz) and handles over the run' })
      .option('json', { type: 'boolean', describe: 'print a JSON summary instead of text' })
      .option('flamegraph', { type: 'string', describe: 'then write the flamegraph page of what was captured (FILE, default <output dir>/flamegraph.html)' })
      .example('$0 run -o cap/ -- node mesh.js', 'profile until mesh.js exits (or Ctrl-C)')
      .example('$0 run -d 30s -- node server.js', 'profile 30 s; the server keeps running (Ctrl-C stops it)')
      .example('$0 run -d 30s --stop -- node server.js', '30 s, then stop the server') as never,
  handler: async (a) => {
    const io = processIo(a)
    const argv = [...(a.cmd ?? []), ...(a['--'] ?? [])].map(String)
    if (argv.length === 0) throw new UsageError('name the command to run after --, e.g. meshprof run -- node app.js')
    const durationMs = a.duration !== undefined ? parseDuration(a.duration) : undefined
    const rateHz = parseRate(a.rate)
    const { runWithAgent } = await import('../../capture/run.js')
    warmSummary()
    const intr = interruptible(io)
    // Progress on the terminal's last row only (never into the command's output, never in a pipe):
    // the time left with -d, else the time so far.
    const status = a.json ? undefined : StatusLine.on(process.stderr)
    let started: number | undefined
    const progress = (left: number | undefined): void => {
      started ??= Date.now()
      status!.show(left !== undefined
        ? `meshprof: profiling ${argv[0]}: ${Math.max(0, Math.ceil(left / 1000))} s left (Ctrl-C stops early and keeps the data)`
        : `meshprof: profiling ${argv[0]}: ${formatElapsed(Date.now() - started)} (until it exits; Ctrl-C stops it and keeps the data)`)
    }
    let outcome
    try {
      outcome = await runWithAgent({
        cmd: argv,
        durationMs,
        rateHz,
        heap: a.heap,
        outDir: a.output ?? defaultOutDir(),
        signal: intr.signal,
        stopAtEnd: a.stop,
        log: (l) => io.err(`${l}\n`),
        onCountdown: status ? progress : undefined,
      })
    } finally {
      intr.dispose()
      status?.close()
    }
    const ce = outcome.childExit
    if (ce && !a.json) io.err(`meshprof: ${argv[0]} exited (${ce.signal ?? `code ${ce.code}`})\n`)
    if (outcome.results.length === 0) {
      io.err('meshprof: no Node process of the command loaded the agent; nothing captured\n')
      process.exitCode = 5
    } else {
      await printOutcome(outcome, io, { json: a.json, top: a.top, what: 'run' })
      const code = outcomeCode(outcome)
      if (code !== 0) process.exitCode = code
      await writeCaptureFlamegraph(outcome, a.flamegraph, io)
    }
    if (outcome.running) await waitForCommand(outcome.running, argv[0]!, io)
  },
}

/** 75 s -> "1m15s". */
function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000)
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

/**
 * After -d without --stop the command keeps running: meshprof stays in the foreground until it
 * exits, and passes Ctrl-C / SIGTERM on to its process group (it runs in a group of its own).
 */
async function waitForCommand(running: NonNullable<RunOutcome['running']>, name: string, io: Io): Promise<void> {
  io.err(`meshprof: the window ended; ${name} (pid ${running.pid}) keeps running: Ctrl-C stops it (--stop stops it at the end of the window)\n`)
  const forward = (sig: NodeJS.Signals) => () => {
    try {
      process.kill(-running.pid, sig)
    } catch {
      // gone
    }
  }
  const onInt = forward('SIGINT')
  const onTerm = forward('SIGTERM')
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  try {
    await running.exited
  } finally {
    process.off('SIGINT', onInt)
    process.off('SIGTERM', onTerm)
  }
}
export default cmd
