// A hostile anonymous reader's presence: N awareness messages, each with a new client id and a
// state of SIZE bytes, over one websocket kept open; says how the server answered.
//   node benches/presence-flood.mjs ws://127.0.0.1:8080/ws/space/page 250 3000000
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const web = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'web')
const require = createRequire(path.join(web, 'package.json'))
const WebSocket = require('ws')
const encoding = require('lib0/dist/encoding.cjs')

const [url, count = '250', size = '3000000'] = process.argv.slice(2)
const state = JSON.stringify({ x: 'a'.repeat(Number(size)) })
const ws = new WebSocket(url)
ws.binaryType = 'arraybuffer'
let closed = null
ws.on('close', (code, reason) => { closed = `${code} ${reason}` })
ws.on('open', async () => {
  const started = Date.now()
  let sent = 0
  for (let id = 1; id <= Number(count) && closed === null; id++) {
    const update = encoding.createEncoder()
    encoding.writeVarUint(update, 1)
    encoding.writeVarUint(update, 1000000 + id)
    encoding.writeVarUint(update, 1)
    encoding.writeVarString(update, state)
    const message = encoding.createEncoder()
    encoding.writeVarUint(message, 1) // awareness
    encoding.writeVarUint8Array(message, encoding.toUint8Array(update))
    ws.send(encoding.toUint8Array(message))
    sent++
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await new Promise((resolve) => setTimeout(resolve, 2000))
  console.log(`4. ${sent} presence states of ${size} bytes sent in ${((Date.now() - started) / 1000).toFixed(1)}s; connection ${closed === null ? 'still open' : 'closed: ' + closed}`)
  process.exit(0)
})
ws.on('error', (e) => { console.log(`4. websocket error: ${e.message}`); process.exit(0) })
