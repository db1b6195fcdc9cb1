// STUB: being written. Replace whole file.
import type { CommandModule } from 'yargs'
import { MeshprofError } from '../../util/errors.js'

const cmd: CommandModule = {
  command: 'analyze <inputs..>',
  describe: 'findings: recognise mesh anti-patterns (connect storm, busy-wait, ghost connections, ...)',
  handler: async () => {
    throw new MeshprofError('analyze: not implemented yet', 70)
  },
}
export default cmd
