// A page's filters kept in its URL's query string (docs/web.md, "The platform console"): a
// reload, the back button or a link shared with a colleague opens the same filtered list.
// The pure halves (fieldsFromQuery, queryOfFields) are unit-tested in urlState.test.ts.
import { watch } from 'vue'
import { useRoute, useRouter, type LocationQuery } from 'vue-router'

export type Fields = Record<string, string>
export type Query = Record<string, string>

const MAX_VALUE = 200 // a pasted link cannot put a novel in a filter box

/** The fields as the query gives them: a key the query lacks keeps its default (a key with no
 * value, `?status`, is the empty string: "all"); a repeated key counts once, its first. */
export function fieldsFromQuery<T extends Fields>(query: LocationQuery, defaults: T): T {
  const out: Fields = { ...defaults }
  for (const key of Object.keys(defaults)) {
    if (!(key in query)) continue
    const raw = query[key]
    const value = Array.isArray(raw) ? raw[0] : raw
    out[key] = typeof value === 'string' ? value.slice(0, MAX_VALUE) : ''
  }
  return out as T
}

/** The query for the fields: only those that differ from their default, so the page as it
 * first opens has a bare URL ("all" over a default of "pending" is `status=`). */
export function queryOfFields<T extends Fields>(fields: T, defaults: T): Query {
  const out: Query = {}
  for (const key of Object.keys(defaults)) {
    const value = (fields[key] ?? '').trim()
    if (value !== defaults[key]) out[key] = value
  }
  return out
}

/** Whether two queries say the same (order of keys aside). */
export function sameQuery(a: Query, b: LocationQuery): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const key of keys) {
    const raw = b[key]
    const value = Array.isArray(raw) ? raw[0] : raw
    if (!(key in b) || !(key in a) || a[key] !== (value ?? '')) return false
  }
  return true
}

/** Keep a page's state in its URL: `read` takes the query in (now, and whenever the URL
 * changes from outside: the back button, a link); `write` gives the query of the state now,
 * put in place of the current entry whenever it changes (a filter is not a page to go back
 * through). */
export function useUrlState(read: (query: LocationQuery) => void, write: () => Query): void {
  const route = useRoute()
  const router = useRouter()
  const name = route.name
  read(route.query)
  watch(write, (query) => {
    if (route.name === name && !sameQuery(query, route.query)) void router.replace({ query })
  })
  watch(
    () => route.query,
    (query) => {
      if (route.name === name && !sameQuery(write(), query)) read(query)
    },
  )
}
