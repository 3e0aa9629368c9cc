/** The two presets of the two-terminal setup: A and B listen on 8080/8081 and dial each other. */
export interface Preset {
  port: number
  peer: string
}

export const PRESETS: Record<string, Preset> = {
  A: {port: 8080, peer: 'ws://127.0.0.1:8081/ws'},
  B: {port: 8081, peer: 'ws://127.0.0.1:8080/ws'},
}
