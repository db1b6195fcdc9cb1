// STUB: being written. Replace whole file.
import type { CommandModule } from 'yargs'
import { MeshprofError } from '../../util/errors.js'

const cmd: CommandModule = {
  command: 'run <cmd..>',
  describe: 'launch a command with the meshprof agent preloaded and profile it',
  handler: async () => {
    throw new MeshprofError('run: not implemented yet', 70)
  },
}
export default cmd
