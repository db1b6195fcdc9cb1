// One worked example per command, shown by `meshprof --help` and by `meshprof <command> --help`.
// Kept beside each other so the top-level list and the per-command help never disagree.
import type { CommandModule } from 'yargs'

export const EXAMPLES: Readonly<Record<string, readonly [string, string][]>> = {
  capture: [
    ['$0 capture 4242 4243 -d 30s -o cap/', 'profile two running Node processes for 30 s, with network evidence'],
    ['$0 capture --pgrep "node .*mesh" --flamegraph', 'every matching process, then the flamegraph page of them all'],
  ],
  run: [['$0 run -o cap/ --flamegraph -- node app.js', 'launch with the agent preloaded, profile until it exits, then a page']],
  top: [['$0 top cap/ --by module --limit 20', 'hottest modules by self time']],
  analyze: [['$0 analyze cap/ --fail-on high', 'findings with evidence and the fix; exit 1 on a HIGH one']],
  flamegraph: [['$0 flamegraph cap/ --open', 'one offline HTML page for the whole capture, opened in your browser']],
  view: [['$0 view profile.pb.gz --open', 'the same profile in speedscope (offline), opened in your browser']],
  diff: [['$0 diff before/ after/ --html diff.html --open', 'what changed, and a differential flamegraph']],
  fold: [['$0 fold perf.txt | flamegraph.pl > flame.svg', 'folded stacks, as stackcollapse-perf.pl writes them']],
  convert: [['$0 convert app.cpuprofile --to pprof -o app.pb.gz', 'for go tool pprof, Pyroscope and friends']],
}

/** The command's name as typed (`'diff <before> <after>'` -> `'diff'`). */
function nameOf(c: CommandModule<any, any>): string {
  return String(Array.isArray(c.command) ? c.command[0] : c.command).split(' ')[0]!
}

/** The command with its examples added to its own --help. */
export function withExamples(c: CommandModule<any, any>): CommandModule<any, any> {
  const examples = EXAMPLES[nameOf(c)] ?? []
  const builder = c.builder
  return {
    ...c,
    builder: (y) => {
      const built = typeof builder === 'function' ? builder(y) : y.options(builder ?? {})
      return examples.reduce((acc, [cmd, what]) => acc.example(cmd, what), built as typeof y) as never
    },
  }
}

/** The first example of every command, for the top-level --help. */
export function topLevelExamples(commands: readonly CommandModule<any, any>[]): [string, string][] {
  return commands.flatMap((c) => (EXAMPLES[nameOf(c)] ?? []).slice(0, 1))
}
