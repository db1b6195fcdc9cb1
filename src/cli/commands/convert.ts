import type { CommandModule } from 'yargs'
import { basename } from 'node:path'
import { processIo } from '../io.js'
import { applyFiltersAll, loadOptions, loadProfiles, withFilterOptions, withInputOptions, writeOutput, type FilterArgs, type InputArgs } from '../common.js'
import { EXPORTERS, EXPORTER_IDS, EXPORTERS_DESCRIPTION } from '../../formats/exporters.js'
import { UsageError } from '../../util/errors.js'

interface ConvertArgs extends InputArgs, FilterArgs {
  profile: string
  to: string
  output?: string
}

const convert: CommandModule<object, ConvertArgs> = {
  command: 'convert <profile>',
  describe: `convert any input to ${EXPORTERS_DESCRIPTION}`,
  builder: (y) =>
    withFilterOptions(withInputOptions(y))
      .positional('profile', { type: 'string', demandOption: true })
      .option('to', { choices: EXPORTER_IDS, demandOption: true, describe: 'output format' })
      .option('output', { alias: 'o', type: 'string', describe: 'output file (default: stdout for text formats)' }) as never,
  handler: async (a) => {
    const io = processIo(a)
    const ex = EXPORTERS.find((e) => e.id === a.to)!
    const { profiles } = await loadProfiles(a.profile, loadOptions(a, io))
    const filtered = await applyFiltersAll(profiles, a)
    const data = await ex.write(filtered, basename(a.profile))
    if (a.output) await writeOutput(a.output, data)
    else if (typeof data !== 'string' && process.stdout.isTTY) throw new UsageError(`--to ${a.to} is binary; give -o FILE or redirect stdout`)
    else io.out(data)
  },
}
export default convert
