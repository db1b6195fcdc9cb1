// Every CLI command, in the order --help lists them. One module per command.
import type { CommandModule } from 'yargs'
import capture from './capture.js'
import run from './run.js'
import top from './top.js'
import analyze from './analyze.js'
import flamegraph from './flamegraph.js'
import view from './view.js'
import diff from './diff.js'
import fold from './fold.js'
import convert from './convert.js'

export const COMMANDS: readonly CommandModule<any, any>[] = [capture, run, top, analyze, flamegraph, view, diff, fold, convert]
