#!/usr/bin/env node
// Thin shim: all logic lives in the compiled library (npm ci runs the build via `prepare`).
// cpu-idle first and the CLI by dynamic import: its start-up window then covers the CLI's module
// loading (fold asks it whether a core sat idle before starting a worker thread).
import '../dist/src/util/cpu-idle.js'
const { main } = await import('../dist/src/cli/main.js')
main(process.argv.slice(2)).then((code) => { process.exitCode = code })
