#!/usr/bin/env node
// --version answered before oclif loads (src/cli/version.ts); everything else goes to oclif, from the bundle (scripts/bundle.mjs)
import {asksForVersion, userAgent} from '../dist/cli/version.js'

const args = process.argv.slice(2)
// a node's heap settings, before loading the command makes the heap grow (src/cli/heap.ts); only a node loads them
if (args[0] === 'start') (await import('../dist/cli/heap.js')).tuneNodeHeap()
if (asksForVersion(args)) console.log(userAgent(new URL('../package.json', import.meta.url)))
else await (await import('../dist/bundle/main.js')).execute({dir: import.meta.url})
