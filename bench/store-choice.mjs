// How the store was chosen (issue 14): better-sqlite3 12 against lmdb 3, same
// records, same machine, same run. lmdb is not a dependency of peerlink:
//   npm i --no-save lmdb@3 && node bench/store-choice.mjs [records] [batch]
// Prints, for each: one commit with fsync (ms), batched inserts and deletes
// per second (one transaction, one fsync per batch), and the longest the main
// thread was blocked queueing or committing one batch.
import Database from 'better-sqlite3'
import {open} from 'lmdb'
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import {performance} from 'node:perf_hooks'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-'))
const N = Number(process.argv[2] ?? 10000)
const BATCH = Number(process.argv[3] ?? 1000)
const text = (i) => `message number ${i} with some text`

function sqlite() {
  const db = new Database(path.join(dir, 'o.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec('create table if not exists outbox (seq integer primary key, text text not null, peers text not null)')
  const ins = db.prepare('insert into outbox (seq, text, peers) values (?, ?, ?)')
  const del = db.prepare('delete from outbox where seq = ?')
  // single commits (one fsync each)
  let t = performance.now()
  const single = 200
  for (let i = 0; i < single; i++) ins.run(i, text(i), '["ws://a"]')
  const singleMs = (performance.now() - t) / single
  db.exec('delete from outbox')
  // batched
  const tx = db.transaction((rows) => { for (const r of rows) ins.run(r, text(r), '["ws://a"]') })
  const txd = db.transaction((rows) => { for (const r of rows) del.run(r) })
  t = performance.now()
  let maxBlock = 0
  for (let b = 0; b < N; b += BATCH) {
    const rows = []; for (let i = b; i < Math.min(N, b + BATCH); i++) rows.push(i)
    const s = performance.now(); tx(rows); maxBlock = Math.max(maxBlock, performance.now() - s)
  }
  const insMs = performance.now() - t
  t = performance.now()
  for (let b = 0; b < N; b += BATCH) {
    const rows = []; for (let i = b; i < Math.min(N, b + BATCH); i++) rows.push(i)
    txd(rows)
  }
  const delMs = performance.now() - t
  db.close()
  return {single_commit_ms: +singleMs.toFixed(2), batched_insert_per_s: Math.round(N / insMs * 1000), batched_delete_per_s: Math.round(N / delMs * 1000), max_main_thread_block_ms: +maxBlock.toFixed(2)}
}

async function lmdb() {
  const db = open({path: path.join(dir, 'l'), compression: false})
  let t = performance.now()
  const single = 200
  for (let i = 0; i < single; i++) await db.put(i, {text: text(i), peers: ['ws://a']})
  const singleMs = (performance.now() - t) / single
  await db.clearAsync()
  t = performance.now()
  let maxBlock = 0
  for (let b = 0; b < N; b += BATCH) {
    const ps = []
    const s = performance.now()
    for (let i = b; i < Math.min(N, b + BATCH); i++) ps.push(db.put(i, {text: text(i), peers: ['ws://a']}))
    maxBlock = Math.max(maxBlock, performance.now() - s)
    await Promise.all(ps)
  }
  const insMs = performance.now() - t
  t = performance.now()
  for (let b = 0; b < N; b += BATCH) {
    const ps = []
    for (let i = b; i < Math.min(N, b + BATCH); i++) ps.push(db.remove(i))
    await Promise.all(ps)
  }
  const delMs = performance.now() - t
  await db.close()
  return {single_commit_ms: +singleMs.toFixed(2), batched_insert_per_s: Math.round(N / insMs * 1000), batched_delete_per_s: Math.round(N / delMs * 1000), max_main_thread_block_ms: +maxBlock.toFixed(2)}
}

console.log('sqlite', sqlite())
console.log('lmdb  ', await lmdb())
fs.rmSync(dir, {recursive: true})
