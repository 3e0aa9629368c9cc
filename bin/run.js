#!/usr/bin/env node
// --version answered before oclif loads (src/cli/version.ts); everything else goes to oclif, from the bundle (scripts/bundle.mjs)
import {tuneNodeHeap} from '../dist/cli/heap.js'
import {asksForVersion, userAgent} from '../dist/cli/version.js'

const args = process.argv.slice(2)
// a node's heap settings, before loading the command makes the heap grow (src/cli/heap.ts)
if (args[0] === 'start') tuneNodeHeap()
if (asksForVersion(args)) console.log(userAgent(new URL('../package.json', import.meta.url)))
else await (await import('../dist/bundle/main.js')).execute({dir: import.meta.url})
