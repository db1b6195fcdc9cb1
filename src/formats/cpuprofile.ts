// STUB: being written. Replace whole file.
import type { Importer } from './types.js'
import { MalformedInputError } from '../util/errors.js'

export const cpuprofileImporter: Importer = {
  id: 'cpuprofile',
  title: 'cpuprofile',
  sniff() {
    return false
  },
  async parse(input) {
    throw new MalformedInputError('cpuprofile', `${input.name}: importer not written yet`)
  },
}
