#!/usr/bin/env node
// Thin shim: all logic lives in the compiled library (npm ci runs the build via `prepare`).
import { main } from '../dist/src/cli/main.js'
main(process.argv.slice(2)).then((code) => { process.exitCode = code })
