import { describe, expect, test } from 'vitest'
import { ReplyHold, replyHoldOf } from '../upstream/reply-budget.js'
import { CancelSignal } from './call-signal.js'

describe('CancelSignal', () => {
  test('abort runs each listener once, in order; a removed listener and one added after the abort never run', () => {
    const signal = new CancelSignal()
    const ran: string[] = []
    const removed = (): void => {
      ran.push('removed')
    }
    signal.addEventListener('abort', () => ran.push('a'))
    signal.addEventListener('abort', removed)
    signal.addEventListener('abort', () => ran.push('b'))
    signal.removeEventListener('abort', removed)
    expect(signal.aborted).toBe(false)
    signal.abort()
    signal.abort()
    signal.addEventListener('abort', () => ran.push('late'))
    expect(signal.aborted).toBe(true)
    expect(ran).toEqual(['a', 'b'])
  })

  test('a listener that throws does not keep the others from running; its error surfaces after them', () => {
    const signal = new CancelSignal()
    const ran: string[] = []
    signal.addEventListener('abort', () => {
      throw new Error('first')
    })
    signal.addEventListener('abort', () => ran.push('second'))
    expect(() => signal.abort()).toThrow('first')
    expect(ran).toEqual(['second'])
    expect(signal.aborted).toBe(true)
  })

  test('follow: aborts with an outer AbortSignal or CancelSignal until unlinked; an outer already aborted aborts at once', () => {
    const outer = new AbortController()
    const linked = new CancelSignal()
    linked.follow(outer.signal)
    outer.abort()
    expect(linked.aborted).toBe(true)

    const parent = new CancelSignal()
    const unlinked = new CancelSignal()
    const unfollow = unlinked.follow(parent)
    unfollow()
    parent.abort()
    expect(unlinked.aborted).toBe(false)

    const late = new CancelSignal()
    late.follow(parent)
    expect(late.aborted).toBe(true)
    expect(new CancelSignal().follow(undefined)).toBeTypeOf('function')
  })

  test("carries the request's ReplyHold to node calls; an AbortSignal or no signal has none", () => {
    const hold = new ReplyHold()
    expect(replyHoldOf(new CancelSignal(hold))).toBe(hold)
    expect(replyHoldOf(new CancelSignal())).toBeUndefined()
    expect(replyHoldOf(new AbortController().signal)).toBeUndefined()
    expect(replyHoldOf(undefined)).toBeUndefined()
  })
})
