// STUB: being written. Replace whole file.
import type { CommandModule } from 'yargs'
import { MeshprofError } from '../../util/errors.js'

const cmd: CommandModule = {
  command: 'view <profile>',
  describe: 'write an offline speedscope viewer HTML with the profile inside',
  handler: async () => {
    throw new MeshprofError('view: not implemented yet', 70)
  },
}
export default cmd
