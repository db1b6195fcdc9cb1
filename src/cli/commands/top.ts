import type { CommandModule } from 'yargs'
import { processIo } from '../io.js'
import { applyFilters, loadInput, withFilterOptions, withInputOptions, type FilterArgs, type InputArgs } from '../common.js'
import type { GroupBy } from '../../model/ops.js'

/** Version of the `top --json` document; bumped when a field changes meaning or goes away. */
export const TOP_SCHEMA_VERSION = 1

interface TopArgs extends InputArgs, FilterArgs {
  profile: string
  by: GroupBy
  sort: 'self' | 'total'
  limit: number
  json?: boolean
}

const top: CommandModule<object, TopArgs> = {
  command: 'top <profile>',
  describe: 'rank hot frames by self and total; connect/handshake/TLS frames are marked',
  builder: (y) =>
    withFilterOptions(withInputOptions(y))
      .positional('profile', { type: 'string', demandOption: true, describe: 'any profile meshprof reads, or - for stdin' })
      .option('by', { choices: ['function', 'file', 'module'] as const, default: 'function' as const, describe: 'group frames by' })
      .option('sort', { choices: ['self', 'total'] as const, default: 'self' as const, describe: 'rank by self or total' })
      .option('limit', { alias: 'n', type: 'number', default: 20, describe: 'rows to show (0 = all)' })
      .option('json', { type: 'boolean', describe: 'machine-readable output' }) as never,
  handler: async (a) => {
    const io = processIo(a)
    // Loaded here, not at start-up: every run of the CLI would pay for every command's modules.
    const [{ rank }, { renderTop }] = await Promise.all([import('../../analyze/rank.js'), import('../../render/top.js')])
    const p = await applyFilters(await loadInput(a.profile, a, io), a)
    const r = rank(p, { by: a.by, sort: a.sort, limit: a.limit })
    if (a.json) {
      io.out(JSON.stringify({ schemaVersion: TOP_SCHEMA_VERSION, profile: a.profile, by: a.by, sort: a.sort, valueType: r.valueType, unit: r.unit, total: r.total, busy: r.busy, basis: r.basis, groups: r.groups, rows: r.rows }, null, 2) + '\n')
    } else {
      io.out(renderTop(r, { style: io.style, sort: a.sort }))
    }
  },
}
export default top
