// STUB: being written. Replace whole file.
import type { CommandModule } from 'yargs'
import { MeshprofError } from '../../util/errors.js'

const cmd: CommandModule = {
  command: 'flamegraph <profile>',
  describe: 'write one self-contained interactive flamegraph HTML file',
  handler: async () => {
    throw new MeshprofError('flamegraph: not implemented yet', 70)
  },
}
export default cmd
