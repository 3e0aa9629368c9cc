/**
 * What discovery needs to know of each registry entry (other fields are
 * ignored), as a zod schema. Loaded on the first registry answer
 * (a dynamic import in discovery.ts), not when a node starts: zod is
 * about a hundred modules, and only a node with `--registry` needs it.
 */
import {z} from 'zod'

export const ListSchema = z.record(
  z.string(),
  z.looseObject({
    role: z.string().optional(),
    url: z.string().optional(),
  }),
)
