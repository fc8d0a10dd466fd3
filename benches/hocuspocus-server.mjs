// Hocuspocus with its SQLite persistence, for benches/compare.sh.
// Usage: node hocuspocus-server.mjs PORT DATABASE_FILE  (run from the folder holding node_modules)
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'

const [port, database] = process.argv.slice(2)
const server = new Server({
  port: Number(port),
  address: '127.0.0.1',
  quiet: true,
  extensions: [new SQLite({ database })]
})
await server.listen()
console.log(`hocuspocus listening on ${port}`)
