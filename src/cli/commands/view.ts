import { basename } from 'node:path'
import type { CommandModule } from 'yargs'
import { processIo } from '../io.js'
import { applyFiltersAll, withFilterOptions, withInputOptions, writeHtmlOutput, type FilterArgs, type InputArgs } from '../common.js'
import { defaultHtmlName, loadAll } from './flamegraph.js'
import { checkOpenTarget, openPage } from '../open-page.js'

interface ViewArgs extends InputArgs, FilterArgs {
  profile: string
  output?: string
  title?: string
  open?: boolean
}

const cmd: CommandModule<object, ViewArgs> = {
  command: 'view <profile>',
  describe: 'write an offline speedscope viewer HTML with the profile inside',
  builder: (y) =>
    withFilterOptions(withInputOptions(y))
      .positional('profile', { type: 'string', demandOption: true, describe: 'any profile meshprof reads, a capture directory, or - for stdin' })
      .option('output', { alias: 'o', type: 'string', describe: 'HTML file to write; - for stdout (default: <profile>.view.html)' })
      .option('title', { type: 'string', describe: 'page title' })
      .option('open', { type: 'boolean', describe: 'open the page in your browser ($BROWSER, else the system default)' })
      .example('meshprof view prof.pb.gz -o prof.view.html', "speedscope's time-order / left-heavy / sandwich views, offline")
      .example('open prof.view.html#view=sandwich', 'open straight in a view (time-ordered, left-heavy, sandwich)') as never,
  handler: async (a) => {
    const io = processIo(a)
    checkOpenTarget(a.open, a.output ?? defaultHtmlName(a.profile, 'view'), '-o')
    const [{ toSpeedscope }, { renderSpeedscopeHtml }] = await Promise.all([import('../../formats/speedscope-export.js'), import('../../render/speedscope-view.js')])
    const profiles = await loadAll(a.profile, a, io)
    const filtered = await applyFiltersAll(profiles, a)
    const name = a.profile === '-' ? 'stdin' : basename(a.profile)
    const text = toSpeedscope(filtered, name)
    const html = renderSpeedscopeHtml(text, { name: `${name.replace(/\.speedscope\.json$/i, '')}.speedscope.json`, ...(a.title !== undefined ? { title: a.title } : {}) })
    const out = a.output ?? defaultHtmlName(a.profile, 'view')
    await writeHtmlOutput(out, html, io)
    if (a.open) await openPage(out, io)
  },
}
export default cmd
