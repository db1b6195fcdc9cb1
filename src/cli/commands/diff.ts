// STUB: being written. Replace whole file.
import type { CommandModule } from 'yargs'
import { MeshprofError } from '../../util/errors.js'

const cmd: CommandModule = {
  command: 'diff <before> <after>',
  describe: 'compare two profiles: headline, ranked deltas, differential flamegraph',
  handler: async () => {
    throw new MeshprofError('diff: not implemented yet', 70)
  },
}
export default cmd
