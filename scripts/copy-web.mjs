// Copies the console's static files (all but the TypeScript, which tsc
// compiles) from src/web/ to dist/web/, so the package carries them.
import {copyFileSync, mkdirSync, readdirSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const from = path.join(root, 'src', 'web')
const to = path.join(root, 'dist', 'web')
mkdirSync(to, {recursive: true})
for (const name of readdirSync(from)) {
  if (/\.(html|css|svg)$/.test(name)) copyFileSync(path.join(from, name), path.join(to, name))
}
