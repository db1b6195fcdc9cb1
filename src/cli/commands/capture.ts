// STUB: being written. Replace whole file.
import type { CommandModule } from 'yargs'
import { MeshprofError } from '../../util/errors.js'

const cmd: CommandModule = {
  command: 'capture <pids..>',
  describe: 'attach to running processes and record a CPU profile plus network evidence',
  handler: async () => {
    throw new MeshprofError('capture: not implemented yet', 70)
  },
}
export default cmd
