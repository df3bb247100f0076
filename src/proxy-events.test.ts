import { describe, expect, it } from 'vitest'
import { ProxyEvents } from './proxy-events.js'

const head = { chain: 'eth', head: 5, previous: 4, at: 0 }

describe('ProxyEvents', () => {
  it('a throwing listener neither fails the emitter nor stops the other listeners', () => {
    const events = new ProxyEvents()
    const seen: string[] = []
    const reported: Array<{ event: string; message: string }> = []
    events.onListenerError = (event, error) => reported.push({ event, message: (error as Error).message })
    events.on('chain:head', () => seen.push('first'))
    events.on('chain:head', () => {
      throw new Error('subscriber bug')
    })
    events.on('chain:head', () => seen.push('third'))
    expect(() => events.emit('chain:head', head)).not.toThrow()
    expect(seen).toEqual(['first', 'third'])
    expect(reported).toEqual([{ event: 'chain:head', message: 'subscriber bug' }])
    expect(events.listenerErrors).toBe(1)
  })

  it('a throwing error reporter is contained too', () => {
    const events = new ProxyEvents()
    events.onListenerError = () => {
      throw new Error('reporter bug')
    }
    events.on('chain:head', () => {
      throw new Error('subscriber bug')
    })
    expect(events.emit('chain:head', head)).toBe(true)
    expect(events.listenerErrors).toBe(1)
  })

  it('once listeners run once; emit says whether anyone listened', () => {
    const events = new ProxyEvents()
    let calls = 0
    events.once('chain:head', () => (calls += 1))
    expect(events.emit('chain:head', head)).toBe(true)
    expect(events.emit('chain:head', head)).toBe(false)
    expect(calls).toBe(1)
  })

  it('subscribe returns a function that removes exactly its handlers', () => {
    const events = new ProxyEvents()
    const seen: number[] = []
    const other = (): void => {
      seen.push(2)
    }
    events.on('chain:head', other)
    const unsubscribe = events.subscribe({ 'chain:head': () => seen.push(1) })
    events.emit('chain:head', head)
    unsubscribe()
    events.emit('chain:head', head)
    expect(seen).toEqual([2, 1, 2])
  })
})
