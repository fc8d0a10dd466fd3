// Drives Ruche with the stock y-websocket provider from npm (the one browsers use), in Node.
// Usage: node stock-client.mjs WS_BASE ROOM TOKEN — prints one JSON line of what it observed.
import { createRequire } from 'module'
import { fileURLToPath } from 'url'
import path from 'path'

const web = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web')
const require = createRequire(path.join(web, 'package.json'))
const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const WebSocket = require('ws')

const [base, room, token] = process.argv.slice(2)
class AuthWS extends WebSocket {
  constructor (url, protocols) { super(url, protocols, { headers: { authorization: `Bearer ${token}` } }) }
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const until = async (check) => { for (let i = 0; i < 200 && !check(); i++) await sleep(50) }
const connect = (name) => {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(base, room, doc, { WebSocketPolyfill: AuthWS })
  provider.awareness.setLocalStateField('user', { name })
  return { doc, provider, text: doc.getText('body') }
}

const a = connect('Alice')
const b = connect('Bruno')
await until(() => a.provider.synced && b.provider.synced)
const initial = a.text.toString()
a.text.insert(a.text.length, ' — écrit par Alice 👋')
await until(() => b.text.toString().includes('Alice 👋'))
const names = () => [...b.provider.awareness.getStates().values()].map((s) => s.user && s.user.name).filter(Boolean)
await until(() => names().includes('Alice'))
const seenByB = b.text.toString()
const presence = names()
// A burst from both at once: the server stores each batch of updates and sends it as one merged
// update; both stock clients end with the same text, holding every key.
for (let i = 0; i < 50; i++) {
  a.text.insert(a.text.length, ` a${i}`)
  b.text.insert(0, `b${i} `)
}
const complete = (t) => [...Array(50).keys()].every((i) => t.includes(` a${i}`) && t.includes(`b${i} `))
await until(() => complete(a.text.toString()) && complete(b.text.toString()) && a.text.toString() === b.text.toString())
const burst = { same: a.text.toString() === b.text.toString(), complete: complete(a.text.toString()), text: a.text.toString() }
a.provider.destroy()
await until(() => !names().includes('Alice'))
const presenceAfter = names()
b.provider.destroy()
console.log(JSON.stringify({ initial, seenByB, presence, presenceAfter, burst }))
process.exit(0)
