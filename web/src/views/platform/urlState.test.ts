import { describe, expect, it } from 'vitest'

import { fieldsFromQuery, queryOfFields, sameQuery } from './urlState'

const defaults = { status: 'pending', shop_id: '', kind: '' }

describe('filters in the URL', () => {
  it('reads what the query names and keeps defaults for the rest', () => {
    expect(fieldsFromQuery({ kind: 'blacklist', other: 'x' }, defaults)).toEqual({ status: 'pending', shop_id: '', kind: 'blacklist' })
    expect(fieldsFromQuery({ status: '' }, defaults).status).toBe('')
    expect(fieldsFromQuery({ status: null }, defaults).status).toBe('')
    expect(fieldsFromQuery({ shop_id: ['2', '3'] }, defaults).shop_id).toBe('2')
    expect(fieldsFromQuery({ shop_id: 'x'.repeat(500) }, defaults).shop_id).toHaveLength(200)
  })

  it('writes only what differs from the defaults, and reads it back the same', () => {
    expect(queryOfFields(defaults, defaults)).toEqual({})
    const state = { status: '', shop_id: ' 2 ', kind: 'report' }
    const query = queryOfFields(state, defaults)
    expect(query).toEqual({ status: '', shop_id: '2', kind: 'report' })
    expect(fieldsFromQuery(query, defaults)).toEqual({ status: '', shop_id: '2', kind: 'report' })
  })

  it('compares queries by what they say', () => {
    expect(sameQuery({ a: '1', b: '' }, { b: '', a: '1' })).toBe(true)
    expect(sameQuery({ a: '1' }, { a: '1', b: '2' })).toBe(false)
    expect(sameQuery({ a: '' }, {})).toBe(false)
    expect(sameQuery({}, {})).toBe(true)
  })
})
