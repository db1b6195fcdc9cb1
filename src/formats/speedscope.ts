// STUB: being written. Replace whole file.
import type { Importer } from './types.js'
import { MalformedInputError } from '../util/errors.js'

export const speedscopeImporter: Importer = {
  id: 'speedscope',
  title: 'speedscope',
  sniff() {
    return false
  },
  async parse(input) {
    throw new MalformedInputError('speedscope', `${input.name}: importer not written yet`)
  },
}
