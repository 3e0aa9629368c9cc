#!/usr/bin/env -S node --import tsx --no-warnings
// Runs the commands from the TypeScript sources: oclif maps ./dist/commands to src/commands (tsconfig), not the bundle run.js uses
import {readFileSync} from 'node:fs'
import {execute} from '@oclif/core'

const root = new URL('..', import.meta.url).pathname
const pjson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
pjson.oclif.commands = './dist/commands'
await execute({development: true, loadOptions: {root, pjson}})
