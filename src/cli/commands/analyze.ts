// `meshprof analyze <inputs..>`: findings for profiles, capture files and capture directories.
import type { CommandModule } from 'yargs'
import { processIo } from '../io.js'
import { loadOptions, loadProfiles, withInputOptions, type InputArgs } from '../common.js'
import type { AnalyzedInput, Rule, Severity } from '../../analyze/index.js'
import { EXIT, UsageError } from '../../util/errors.js'

interface AnalyzeArgs extends InputArgs {
  inputs?: string[]
  json?: boolean
  'fail-on'?: Severity
  level: Severity
  rules?: string
  threshold?: string[]
  'list-rules'?: boolean
  stacks: number
}

function listRules(rules: readonly Rule[]): string {
  const lines: string[] = []
  for (const r of rules) {
    lines.push(`${r.id}  (${r.source}, up to ${r.severity})  ${r.title}`)
    lines.push(`  ${r.description}`)
    for (const [k, s] of Object.entries(r.thresholds)) lines.push(`  --threshold ${r.id}.${k}=${s.default}   ${s.description}`)
    lines.push('')
  }
  return lines.join('\n')
}

const analyze: CommandModule<object, AnalyzeArgs> = {
  command: 'analyze [inputs..]',
  describe: 'findings: recognise mesh anti-patterns (connect storm, busy-wait, ghost connections, telemetry growth, GC)',
  builder: (y) =>
    withInputOptions(y)
      .positional('inputs', { type: 'string', array: true, describe: 'profiles, capture.json / mesh.json files, or capture directories' })
      .option('json', { type: 'boolean', describe: 'machine-readable output (stable schema, see docs/analyze.md)' })
      .option('fail-on', { choices: ['high', 'medium', 'low', 'info'] as const, describe: 'exit 1 when a finding of at least this severity exists (info notes never count)' })
      .option('level', { choices: ['high', 'medium', 'low', 'info'] as const, default: 'low' as const, describe: 'show findings of at least this severity' })
      .option('rules', { type: 'string', describe: 'user rules file (JSON or YAML): [{id, frame, ancestor?, threshold, severity, message, remedy?}]' })
      .option('threshold', { type: 'string', array: true, describe: 'override a rule threshold: <rule>.<key>=<value>, e.g. connect-storm.minShare=0.2 (repeatable)' })
      .option('stacks', { type: 'number', default: 1, describe: 'example stacks per finding in text output' })
      .option('list-rules', { type: 'boolean', describe: 'list the rules and their thresholds, then exit' })
      .example('$0 analyze capture.json', 'findings, most costly first, with evidence')
      .example('$0 analyze trace.folded --json', 'machine-readable')
      .example('$0 analyze caps/ --fail-on high', 'CI: exit 1 on a high finding')
      .example('$0 analyze prof.pb.gz --rules my-rules.json', 'add your own rules') as never,
  handler: async (a) => {
    const io = processIo(a)
    const { analyzeProfiles, failsOn, parseThresholdArgs, resolveThresholds, RULES, BUILTIN_RULE_IDS } = await import('../../analyze/index.js')
    const user = a.rules ? await (await import('../../analyze/rules/user-rules.js')).loadUserRules(a.rules, BUILTIN_RULE_IDS) : []
    const rules = [...RULES, ...user]
    const thresholds = resolveThresholds(parseThresholdArgs(a.threshold ?? []), rules)
    if (a['list-rules']) {
      io.out(listRules(rules))
      return
    }
    const inputs = a.inputs ?? []
    if (inputs.length === 0) throw new UsageError('analyze: name at least one input (profile, capture.json, or a capture directory)')
    if (inputs.filter((x) => x === '-').length > 1) throw new UsageError('analyze: stdin (-) can be read only once')
    if (!Number.isInteger(a.stacks) || a.stacks < 0) throw new UsageError('--stacks: expected a whole number >= 0')
    const loaded: AnalyzedInput[] = []
    for (const input of inputs) {
      const { profiles } = await loadProfiles(input, loadOptions(a, io))
      for (const profile of profiles) {
        // a mesh.json or a capture directory yields one profile per capture: name each by its file
        const cap = profile.meta.extra?.capture
        loaded.push({ input: typeof cap === 'string' ? cap : input, profile })
      }
    }
    const report = analyzeProfiles(loaded, { rules: user, thresholds })
    if (a.json) {
      io.out(JSON.stringify({ ...report, failOn: a["fail-on"] ?? null }, null, 2) + '\n')
    } else {
      const { renderReport } = await import('../../render/findings.js')
      io.out(renderReport(report, { style: io.style, level: a.level, stacks: a.stacks }))
    }
    if (a['fail-on'] && failsOn(report.findings, a['fail-on'])) process.exitCode = EXIT.FINDINGS
  },
}

export default analyze
