/**
 * What keeps a load generator from collapsing into a retry storm, pure (no
 * sockets, no timers): every connect of a worker asks this gate first.
 *
 * - At most `maxHandshakes` opening handshakes are in flight and at most
 *   `maxSockets` sockets are open at once in the worker; other connects wait
 *   in line (fresh starts in order, so a late ramp is a visible queue, not a
 *   pile of timers).
 * - Retries spend a per-target budget, as gRPC's retry throttling does:
 *   every failure against a target (handshake failed, ack timeout, drop)
 *   takes a token, every success (an `ok X` back) returns a tenth of one, and
 *   retries wait while the bucket is at or below half. A target that fails
 *   more than one in ten is visibly saturated, and its retries are held until
 *   it succeeds again. So that held retries never wait forever on a target
 *   that gets no fresh traffic, one retry goes through as a probe whenever no
 *   handshake to that target is in flight.
 */

export interface GateOptions {
  targets: number
  maxHandshakes: number
  maxSockets: number
  /** tokens of the retry budget of each target (gRPC: 10) */
  budgetTokens?: number
  /** tokens a success returns (gRPC: 0.1) */
  budgetRatio?: number
}

interface TargetState {
  tokens: number
  handshakes: number
  retries: Array<() => void>
  /** retries that had to wait for the budget */
  held: number
}

export class ConnectGate {
  private readonly fresh: Array<{target: number; go: () => void}> = []
  private freshHead = 0
  private readonly targets: TargetState[]
  private readonly maxTokens: number
  private readonly ratio: number
  private handshakes = 0
  private sockets = 0
  /** connects that had to wait for a handshake or socket slot */
  queued = 0
  /** retries that had to wait for the target's budget */
  held = 0

  constructor(private readonly opts: GateOptions) {
    this.maxTokens = opts.budgetTokens ?? 10
    this.ratio = opts.budgetRatio ?? 0.1
    this.targets = Array.from({length: opts.targets}, () => ({tokens: this.maxTokens, handshakes: 0, retries: [], held: 0}))
  }

  /**
   * Asks to open a socket to `target`; `go` runs (synchronously, at once or
   * later from another gate call) when the connect may start. Every `go` must
   * be followed by {@link handshakeDone}, and every opened socket by {@link socketClosed}.
   */
  request(target: number, retry: boolean, go: () => void): void {
    const t = this.targets[target]
    if (retry) {
      if (this.hasRoom() && this.retryAllowed(t)) return this.grant(target, go)
      if (!this.retryAllowed(t)) {
        this.held++
        t.held++
      } else this.queued++
      t.retries.push(go)
      return
    }
    if (this.hasRoom() && this.freshHead === this.fresh.length) return this.grant(target, go)
    this.queued++
    this.fresh.push({target, go})
  }

  /** The handshake of a granted connect is over: the socket opened or it failed (then it is closed too). */
  handshakeDone(target: number, opened: boolean): void {
    this.handshakes--
    this.targets[target].handshakes--
    if (!opened) this.sockets--
    this.pump()
  }

  /** An opened socket is closed. */
  socketClosed(): void {
    this.sockets--
    this.pump()
  }

  /** A client's round trip against `target` succeeded (`ok X` arrived). */
  success(target: number): void {
    const t = this.targets[target]
    t.tokens = Math.min(this.maxTokens, t.tokens + this.ratio)
    if (t.retries.length > 0) this.pump()
  }

  /** A client failed against `target` (handshake failed, ack timeout, dropped before `ok X`). */
  failure(target: number): void {
    const t = this.targets[target]
    t.tokens = Math.max(0, t.tokens - 1)
  }

  /** True when retries against `target` are being held now (the target is visibly saturated). */
  saturated(target: number): boolean {
    return this.targets[target].tokens <= this.maxTokens / 2
  }

  /** True when retries against `target` ever had to wait for its budget during this run. */
  everThrottled(target: number): boolean {
    return this.targets[target].held > 0
  }

  /** Retries against `target` that had to wait for its budget. */
  heldOf(target: number): number {
    return this.targets[target].held
  }

  /** Connects waiting in line now (fresh and retries). */
  get waiting(): number {
    let n = this.fresh.length - this.freshHead
    for (const t of this.targets) n += t.retries.length
    return n
  }

  private hasRoom(): boolean {
    return this.handshakes < this.opts.maxHandshakes && this.sockets < this.opts.maxSockets
  }

  private retryAllowed(t: TargetState): boolean {
    // the probe: with nothing in flight to this target, one retry finds out whether it is back
    return t.tokens > this.maxTokens / 2 || t.handshakes === 0
  }

  private grant(target: number, go: () => void): void {
    this.handshakes++
    this.sockets++
    this.targets[target].handshakes++
    go()
  }

  private pump(): void {
    while (this.hasRoom()) {
      const target = this.targets.findIndex((t) => t.retries.length > 0 && this.retryAllowed(t))
      if (target >= 0) {
        this.grant(target, this.targets[target].retries.shift() as () => void)
        continue
      }
      if (this.freshHead === this.fresh.length) break
      const next = this.fresh[this.freshHead++]
      if (this.freshHead > 1024 && this.freshHead * 2 > this.fresh.length) {
        this.fresh.splice(0, this.freshHead)
        this.freshHead = 0
      }
      this.grant(next.target, next.go)
    }
  }
}
