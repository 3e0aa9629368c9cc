// What each store does with a truncated file (issue 14). lmdb is not a dependency:
//   npm i --no-save lmdb@3
//   node bench/store-truncate.mjs sqlite make && node bench/store-truncate.mjs sqlite trunc <tmp>/peerlink-store-truncate-sqlite/o.db 0.5 && node bench/store-truncate.mjs sqlite read
//   node bench/store-truncate.mjs lmdb make && node bench/store-truncate.mjs lmdb trunc <tmp>/peerlink-store-truncate-lmdb/l/data.mdb 0.5 && node bench/store-truncate.mjs lmdb read
// Seen here: SQLite throws SQLITE_CORRUPT ("database disk image is malformed") at 90%, 10% and 1%
// of the file; LMDB dies with SIGBUS (exit 135) at 50%, 10% and 1%, before any line can be written.
import Database from 'better-sqlite3'
import {open} from 'lmdb'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
const which = process.argv[2], step = process.argv[3]
const dir = path.join(os.tmpdir(), 'peerlink-store-truncate-' + which)
if (step === 'make') {
  fs.rmSync(dir, {recursive: true, force: true}); fs.mkdirSync(dir)
  if (which === 'sqlite') {
    const db = new Database(dir + '/o.db'); db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL')
    db.exec('create table outbox (seq integer primary key, text text not null)')
    const ins = db.prepare('insert into outbox values (?, ?)')
    db.transaction(() => { for (let i = 0; i < 5000; i++) ins.run(i, 'x'.repeat(100) + i) })()
    db.close()
  } else {
    const db = open({path: dir + '/l'})
    for (let i = 0; i < 5000; i++) db.put(i, 'x'.repeat(100) + i)
    await db.flushed; await db.close()
  }
  for (const f of fs.readdirSync(dir, {recursive: true})) { try { console.log(f, fs.statSync(dir + '/' + f).size) } catch {} }
} else if (step === 'trunc') {
  const f = process.argv[4]; const size = fs.statSync(f).size; fs.truncateSync(f, Math.floor(size * Number(process.argv[5] ?? 0.5))); console.log('truncated', f, size, '->', fs.statSync(f).size)
} else {
  try {
    if (which === 'sqlite') {
      const db = new Database(dir + '/o.db'); db.pragma('journal_mode = WAL')
      console.log('quick_check', db.pragma('quick_check', {simple: true}))
      console.log('count', db.prepare('select count(*) c from outbox').get())
      let n = 0; for (const r of db.prepare('select * from outbox').iterate()) n++; console.log('iterated', n)
    } else {
      const db = open({path: dir + '/l'})
      console.log('count', db.getCount())
      let n = 0; for (const r of db.getRange()) n++; console.log('iterated', n)
    }
  } catch (e) { console.log('ERROR', e.code, e.message) }
}
