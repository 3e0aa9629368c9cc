/**
 * What cluster members say to each other over NATS, pure: the subjects and
 * the codec of their messages. docs/cluster.md is the contract.
 *
 * Every subject lives under `peerlink.<cluster>.relay.`, so several clusters
 * share one NATS server and nothing here meets the load tester's
 * `peerlink.load.>`.
 */

/** A cluster name is one NATS subject token. */
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/

/** The subjects of cluster `name`. */
export function subjects(name: string): {heartbeat: string; member: (id: string) => string} {
  const base = `peerlink.${name}.relay`
  return {heartbeat: `${base}.heartbeat`, member: (id) => `${base}.member.${id}`}
}

/**
 * A member's state, published every heartbeat and whenever its connection
 * count changes (at most every few ms); `leaving` when it stops, `prev` the
 * session it replaces after a reconnect to NATS (that one is gone at once).
 */
export interface Heartbeat {
  /** the member's session: new each time it (re)connects to NATS */
  id: string
  /** the node's name, as events show it */
  name: string
  /** client connections the relay may pick there */
  clients: number
  /** relay entries waiting for an ok there */
  pending: number
  prev?: string
  leaving?: true
}

/** A message sent to one member's subject. */
export type MemberMessage =
  /** take `message text` for the origin connection named `origin` on the sender */
  | {kind: 'message'; from: string; origin: string; text: string}
  /** `ok text`: a receiver here answered a message the sender handed us */
  | {kind: 'ok'; from: string; text: string}
  /** the sender could not place the X we handed it (no open connection anywhere it knows): place it elsewhere */
  | {kind: 'back'; from: string; text: string}
  /** the message the sender was handed for `origin` went to `receiver` (`node/conn`): for its `message_relayed` */
  | {kind: 'took'; from: string; origin: string; receiver: string; text: string}

// JSON arrays: names and texts may hold any character, and an array is the
// cheapest JSON to build and parse.
export function encodeMember(m: MemberMessage): string {
  switch (m.kind) {
    case 'message':
      return JSON.stringify(['m', m.from, m.origin, m.text])
    case 'ok':
      return JSON.stringify(['o', m.from, m.text])
    case 'back':
      return JSON.stringify(['b', m.from, m.text])
    case 'took':
      return JSON.stringify(['t', m.from, m.origin, m.receiver, m.text])
  }
}

/** Decodes a member message; undefined for anything malformed (a foreign publisher on our subject). */
export function decodeMember(data: string): MemberMessage | undefined {
  let a: unknown
  try {
    a = JSON.parse(data)
  } catch {
    return undefined
  }
  if (!Array.isArray(a) || !a.every((x) => typeof x === 'string')) return undefined
  const s = a as string[]
  if (s[0] === 'm' && s.length === 4) return {kind: 'message', from: s[1], origin: s[2], text: s[3]}
  if (s[0] === 'o' && s.length === 3) return {kind: 'ok', from: s[1], text: s[2]}
  if (s[0] === 'b' && s.length === 3) return {kind: 'back', from: s[1], text: s[2]}
  if (s[0] === 't' && s.length === 5) return {kind: 'took', from: s[1], origin: s[2], receiver: s[3], text: s[4]}
  return undefined
}

export function encodeHeartbeat(h: Heartbeat): string {
  return JSON.stringify(h)
}

/** Decodes a heartbeat; undefined for anything malformed. */
export function decodeHeartbeat(data: string): Heartbeat | undefined {
  let h: unknown
  try {
    h = JSON.parse(data)
  } catch {
    return undefined
  }
  if (typeof h !== 'object' || h === null) return undefined
  const o = h as Record<string, unknown>
  const count = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0
  if (typeof o.id !== 'string' || typeof o.name !== 'string' || !count(o.clients) || !count(o.pending)) return undefined
  if (o.prev !== undefined && typeof o.prev !== 'string') return undefined
  return {
    id: o.id,
    name: o.name,
    clients: o.clients as number,
    pending: o.pending as number,
    ...(o.prev !== undefined && {prev: o.prev as string}),
    ...(o.leaving === true && {leaving: true as const}),
  }
}
