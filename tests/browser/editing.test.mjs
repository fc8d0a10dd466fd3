// Browser tests: people co-editing in real (headless) Chromium against a real Ruche server.
// Run by tests/browser.rs, which starts the server and passes RUCHE_URL and friends.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const web = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web')
const require = createRequire(path.join(web, 'package.json'))
const { chromium } = require('playwright-core')
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

const base = process.env.RUCHE_URL
const password = process.env.RUCHE_PASSWORD
const token = process.env.RUCHE_TOKEN
const shots = process.env.RUCHE_SCREENSHOTS
const TIMEOUT = 20000

let browser
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
})
after(async () => { await browser?.close() })

// What the Content-Security-Policy blocked, on any page of any scenario (checked at the end).
const blocked = []
async function person (email, options = {}) {
  const context = await browser.newContext({ locale: 'fr-FR', ...options })
  const page = await context.newPage()
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) blocked.push(`${page.url()}: ${message.text()}`)
  })
  page.setDefaultTimeout(TIMEOUT)
  if (email) {
    await page.goto(`${base}/login`)
    await page.fill('#f-email', email)
    await page.fill('#f-password', password)
    await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('main form button[type=submit]')])
  }
  return { context, page }
}

const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true })
const editorText = (page) => page.evaluate(() => window.rucheEditor.doc.getText('body').toString())
async function openEditor (page, url) {
  await page.goto(`${base}${url}`)
  await page.waitForFunction(() => window.rucheEditor && window.rucheEditor.provider.synced)
  await page.waitForSelector('[data-role=status][data-state=connected]')
}
async function storedText (spacePage) {
  const response = await fetch(`${base}/api/pages/${spacePage}`, { headers: { authorization: `Bearer ${token}` } })
  return (await response.json()).markdown
}
async function waitForEqual (pages, spacePage) {
  const deadline = Date.now() + TIMEOUT
  for (;;) {
    const texts = await Promise.all(pages.map(editorText))
    const stored = await storedText(spacePage)
    if (texts.every((t) => t === stored)) return stored
    if (Date.now() > deadline) assert.fail(`did not converge: ${JSON.stringify({ texts, stored })}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

test('a first-time visitor sees what is public first, on a phone and on a desktop', async () => {
  for (const [name, viewport] of [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 900 }]]) {
    const { context, page } = await person(null, { viewport })
    await page.goto(`${base}/`)
    assert.equal(await page.locator('main h1').count(), 1, 'one main heading')
    const h1 = await page.locator('main h1').innerText()
    assert.equal(h1, 'Guide', 'the public welcome page comes first')
    await page.waitForSelector('text=Prochains rendez-vous')
    await page.waitForSelector('text=Dernières ressources')
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    assert.ok(overflow <= 0, `the front page scrolls sideways by ${overflow}px`)
    await shot(page, `00-home-${name}`)
    await context.close()
  }
})

test('sign in through the form, open a space, create a page', async () => {
  const { context, page } = await person('sophie@example.org')
  await page.click('a[href="/s/chantier-1"]')
  await page.click('a[href="/s/chantier-1/new"]')
  await page.fill('#f-title', 'Compte rendu du 12 mars')
  await page.click('main form button[type=submit]')
  await page.waitForURL(/\/s\/chantier-1\/compte-rendu-du-12-mars\/edit$/)
  await page.waitForSelector('.cm-content')
  await shot(page, '01-create-page')
  await context.close()
})

test('a password can be shown while it is typed, and is a password field again when sent', async () => {
  const { context, page } = await person(null)
  await page.goto(`${base}/login`)
  await page.fill('#f-password', 'un mot de passe')
  const toggle = page.locator('button.show-password[aria-controls="f-password"]')
  assert.equal(await toggle.textContent(), 'Afficher le mot de passe')
  await toggle.click()
  assert.equal(await page.getAttribute('#f-password', 'type'), 'text')
  assert.equal(await toggle.textContent(), 'Masquer le mot de passe')
  await shot(page, '02-password-shown')
  await toggle.click()
  assert.equal(await page.getAttribute('#f-password', 'type'), 'password')
  await toggle.click()
  await page.fill('#f-email', 'sophie@example.org')
  await page.fill('#f-password', password)
  await Promise.all([page.waitForURL((url) => !url.pathname.startsWith('/login')), page.click('main form button[type=submit]')])
  await context.close()
})

test('two people type on the same page, see each other and converge with the server', async () => {
  const a = await person('sophie@example.org')
  const b = await person('celine@example.org')
  await openEditor(a.page, '/s/chantier-1/feuille-de-route/edit')
  await openEditor(b.page, '/s/chantier-1/feuille-de-route/edit')

  await a.page.click('.cm-content')
  await a.page.keyboard.press('Control+End')
  await a.page.keyboard.type(' Sophie écrit ici.')
  await b.page.waitForFunction(() => window.rucheEditor.doc.getText('body').toString().includes('Sophie écrit ici.'))
  // B sees A in the list of people and A's named cursor.
  await b.page.waitForSelector('[data-role=people] li:has-text("Sophie")')
  await b.page.waitForSelector('.cm-ySelectionInfo:has-text("Sophie")')

  // Both type at once.
  await b.page.click('.cm-content')
  await b.page.keyboard.press('Control+Home')
  await Promise.all([a.page.keyboard.type(' et encore 👋', { delay: 15 }), b.page.keyboard.type('Céline commence. ', { delay: 15 })])
  const text = await waitForEqual([a.page, b.page], 'chantier-1/feuille-de-route')
  assert.ok(text.includes('Céline commence.') && text.includes('et encore 👋'), text)
  await shot(a.page, '02-two-people-a')
  await shot(b.page, '02-two-people-b')
  await a.context.close()
  await b.context.close()
})

test('someone offline types, comes back, and both converge without losing anything', async () => {
  const a = await person('sophie@example.org')
  const b = await person('celine@example.org')
  await openEditor(a.page, '/s/chantier-1/feuille-de-route/edit')
  await openEditor(b.page, '/s/chantier-1/feuille-de-route/edit')

  await b.context.setOffline(true)
  await b.page.evaluate(() => window.rucheEditor.provider.disconnect())
  await b.page.waitForSelector('[data-role=status][data-state=offline]')
  await b.page.click('.cm-content')
  await b.page.keyboard.press('Control+End')
  await b.page.keyboard.type(' Écrit hors ligne.')
  await a.page.click('.cm-content')
  await a.page.keyboard.press('Control+Home')
  await a.page.keyboard.type('Pendant la coupure. ')
  await shot(b.page, '03-offline')

  await b.context.setOffline(false)
  await b.page.evaluate(() => window.rucheEditor.provider.connect())
  await b.page.waitForSelector('[data-role=status][data-state=connected]')
  const text = await waitForEqual([a.page, b.page], 'chantier-1/feuille-de-route')
  assert.ok(text.includes('Écrit hors ligne.') && text.includes('Pendant la coupure.'), text)
  await shot(b.page, '03-back-online')
  await a.context.close()
  await b.context.close()
})

test('the toolbar makes bold, a list and a wiki link, and the preview shows them', async () => {
  const { context, page } = await person('sophie@example.org')
  await openEditor(page, '/s/chantier-1/boite-a-outils/edit')
  await page.click('.cm-content')
  await page.keyboard.press('Control+End')
  await page.keyboard.press('Enter')
  await page.keyboard.type('important')
  await page.keyboard.press('Shift+Home')
  await page.click('button[data-action=bold]')
  await page.keyboard.press('End')
  await page.keyboard.press('Enter')
  await page.keyboard.type('premier point')
  await page.click('button[data-action=bullets]')
  await page.keyboard.press('End')
  await page.keyboard.press('Enter')
  await page.keyboard.press('Enter') // an empty list item ends the list
  await page.keyboard.type('Feuille de route')
  for (let i = 0; i < 'Feuille de route'.length; i++) await page.keyboard.press('Shift+ArrowLeft')
  await page.click('button[data-action=wikilink]')
  // The dialog searched for the selected words: the page is chosen in the list.
  await page.locator('[data-role=link-results] button', { hasText: 'Feuille de route' }).first().click()
  await page.waitForFunction(() => window.rucheEditor.doc.getText('body').toString().includes('[[feuille-de-route|Feuille de route]]'))
  const text = await editorText(page)
  assert.match(text, /\*\*important\*\*/)
  assert.match(text, /^- premier point$/m)
  await page.waitForSelector('[data-role=preview] strong:has-text("important")')
  await page.waitForSelector('[data-role=preview] li:has-text("premier point")')
  await page.waitForSelector('[data-role=preview] a.wikilink[href="/s/chantier-1/feuille-de-route"]')
  await shot(page, '04-toolbar')
  await context.close()
})

test('each line button puts its marker at the start of the line, and takes it off again', async () => {
  const { context, page } = await person('sophie@example.org')
  await openEditor(page, '/s/chantier-1/brouillon/edit')
  const setText = (t) => page.evaluate((t) => {
    const v = window.rucheEditor.view
    v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: t } })
  }, t)
  const select = (from, to) => page.evaluate(([f, t]) => {
    const v = window.rucheEditor.view
    v.dispatch({ selection: { anchor: f, head: t } })
    v.focus()
  }, [from, to])
  const press = async (action) => {
    // Heading levels are in the "Titre" menu.
    if (action === 'h2') await page.click('button[data-action=heading]')
    await page.click(`button[data-action=${action}]`)
  }
  for (const [action, marker] of [['h2', '## '], ['bullets', '- '], ['numbers', '1. '], ['checklist', '- [ ] ']]) {
    // On an empty line: the marker first, then what the person types.
    await setText('')
    await select(0, 0)
    await press(action)
    await page.keyboard.type('Mon texte')
    assert.equal(await editorText(page), `${marker}Mon texte`, action)
    // Pressed again: it comes off.
    await press(action)
    assert.equal(await editorText(page), 'Mon texte', action)
    // On a line with text, the cursor in the middle of it: at the start of the line.
    await select(3, 3)
    await press(action)
    assert.equal(await editorText(page), `${marker}Mon texte`, action)
    // Several lines selected: each gets its marker (numbers count up).
    await setText('un\ndeux\ntrois')
    await select(0, 'un\ndeux\ntrois'.length)
    await press(action)
    const expected = ['un', 'deux', 'trois'].map((l, i) => (action === 'numbers' ? `${i + 1}. ` : marker) + l).join('\n')
    assert.equal(await editorText(page), expected, action)
    await press(action)
    assert.equal(await editorText(page), 'un\ndeux\ntrois', action)
  }
  // Another kind of list: the marker is replaced, not added to.
  await setText('- un')
  await select(4, 4)
  await press('numbers')
  assert.equal(await editorText(page), '1. un')
  await press('checklist')
  assert.equal(await editorText(page), '- [ ] un')
  // The buttons say what they do, in words.
  for (const label of ['Gras', 'Titre', 'Liste à puces', 'Liste numérotée', 'Cases à cocher', 'Lien vers un site']) {
    assert.equal(await page.getByRole('button', { name: label, exact: true }).count(), 1, label)
  }
  // One press of Enter is a new line for the reader too.
  await setText('Mon titre\nun\ntache')
  await page.waitForSelector('[data-role=preview] br', { state: 'attached' })
  await shot(page, '05-line-buttons')
  await context.close()
})

test('a viewer cannot change the text and sees the others live', async () => {
  const editor = await person('sophie@example.org')
  const viewer = await person('lea@example.org')
  await openEditor(editor.page, '/s/chantier-1/feuille-de-route/edit')
  await openEditor(viewer.page, '/s/chantier-1/feuille-de-route/edit')
  assert.equal(await viewer.page.getAttribute('.cm-content', 'contenteditable'), 'false')
  assert.equal(await viewer.page.isVisible('[data-role=toolbar]'), false)
  const before = await editorText(viewer.page)
  await viewer.page.click('.cm-content')
  await viewer.page.keyboard.type('ne doit pas passer')
  assert.equal(await editorText(viewer.page), before)

  await editor.page.click('.cm-content')
  await editor.page.keyboard.press('Control+End')
  await editor.page.keyboard.type(' Vu par Léa.')
  await viewer.page.waitForFunction(() => window.rucheEditor.doc.getText('body').toString().includes('Vu par Léa.'))
  assert.ok(!(await storedText('chantier-1/feuille-de-route')).includes('ne doit pas passer'))
  await shot(viewer.page, '05-viewer')
  await editor.context.close()
  await viewer.context.close()
})

test('an anonymous reader without JavaScript reads a public page in full', async () => {
  const { context, page } = await person(null, { javaScriptEnabled: false })
  await page.goto(`${base}/s/ressources/guide`)
  const article = await page.textContent('article.content')
  for (const expected of ['Guide de la coopération', 'Une ressource publique', 'Première étape', 'Webinaire']) {
    assert.ok(article.includes(expected), `missing ${expected} in ${article}`)
  }
  assert.ok(await page.isVisible('article.content table'))
  await shot(page, '06-no-javascript')
  await context.close()
})

test('on a phone the page and the editor are usable', async () => {
  const { context, page } = await person('sophie@example.org', { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true })
  for (const url of ['/', '/s/chantier-1', '/directory', '/agenda', '/map', '/resources', '/search?q=guide', '/s/ressources/guide', '/s/chantier-1/feuille-de-route/history', '/account', '/s/chantier-1/feuille-de-route/edit']) {
    await page.goto(`${base}${url}`)
    if (url.endsWith('/edit')) await page.waitForFunction(() => window.rucheEditor && window.rucheEditor.provider.synced)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
    assert.ok(overflow <= 0, `${url} scrolls sideways by ${overflow}px`)
    // Links that stand on their own are a finger's size (links inside sentences are not).
    const small = await page.evaluate(() => [...document.querySelectorAll(
      'main li > a:only-child, main p:not(.content p) > a:only-child, main h2 > a, main h3 > a, .crumbs a, .pagination a, main .actions a, main a.button')]
      .filter((a) => a.getClientRects().length > 0)
      .filter((a) => a.getBoundingClientRect().height < 44)
      .map((a) => `${a.textContent.trim()} (${Math.round(a.getBoundingClientRect().height)}px)`))
    assert.deepEqual(small, [], `${url}: links too small to touch`)
  }
  for (const button of await page.$$('[data-role=toolbar] > button')) {
    const box = await button.boundingBox()
    assert.ok(box.height >= 44 && box.width >= 44, 'toolbar buttons are big enough to touch')
  }
  // The toolbar is one row to swipe; the page does not scroll sideways, and the text to edit
  // starts within the first screen, below a compact header.
  const header = await page.locator('header.site').boundingBox()
  assert.ok(header.height <= 90, `the header takes ${header.height}px`)
  const editor = await page.locator('.cm-content').boundingBox()
  assert.ok(editor.y < 740, `the text starts at ${editor.y}px`)
  await page.click('button[data-action=bold]')
  assert.match(await editorText(page), /\*\*/)
  await shot(page, '07-phone')
  // The menu opens the rest of the navigation and the account.
  await page.goto(`${base}/s/ressources/guide`)
  await shot(page, '07-phone-page')
  await page.click('details.menu > summary')
  await page.waitForSelector('.menu-panel a[href="/agenda"]')
  await shot(page, '07-phone-menu')
  await Promise.all([page.waitForURL((url) => url.pathname === '/agenda'), page.click('.menu-panel a[href="/agenda"]')])
  await context.close()
})

test('accessibility: no serious or critical axe violations', async () => {
  const anonymous = await person(null)
  const member = await person('sophie@example.org')
  const pages = [
    [anonymous.page, '/', 'home'],
    [anonymous.page, '/login', 'sign-in'],
    [anonymous.page, '/s/ressources', 'space'],
    [anonymous.page, '/s/ressources/guide', 'page'],
    [member.page, '/s/chantier-1/feuille-de-route/edit', 'editor'],
    [anonymous.page, '/directory', 'directory'],
    [anonymous.page, '/agenda', 'agenda'],
    [anonymous.page, '/resources', 'resources'],
    [anonymous.page, '/map', 'map'],
    [member.page, '/s/ressources/le-labo-de-l-ess/fields', 'entry-form'],
    [member.page, '/forms/organisation?view=table', 'table'],
    [anonymous.page, '/search?q=coop%C3%A9ration', 'search'],
    [anonymous.page, '/password/forgot', 'password-forgot'],
    [member.page, '/account', 'account'],
    [member.page, '/s/chantier-1/members', 'members'],
    [member.page, '/notifications', 'notifications'],
    [member.page, '/s/ressources/guide', 'discussion'],
    [member.page, '/s/chantier-1/discussions', 'exchanges'],
    [member.page, '/s/ressources/guide/edit', 'editor-formatted'],
    [member.page, '/s/ressources/guide/edit', 'editor-code']
  ]
  const problems = []
  for (const [page, url, name] of pages) {
    await page.goto(`${base}${url}`)
    if (name.startsWith('editor')) await page.waitForFunction(() => window.rucheEditor && window.rucheEditor.provider.synced)
    if (name === 'editor-code') await page.check('[data-role=show-markdown]')
    if (name === 'map') await page.waitForSelector('#map .leaflet-interactive')
    // Injected through the debugging protocol: the page itself allows no inline script.
    await page.evaluate(axeSource)
    const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ['violations'] }))
    for (const v of result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
      problems.push(`${name} (${url}): ${v.id} [${v.impact}] ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    }
    await shot(page, `08-axe-${name}`)
    if (name === 'editor-code') await page.uncheck('[data-role=show-markdown]')
  }
  await anonymous.context.close()
  await member.context.close()
  assert.deepEqual(problems, [], `accessibility violations:\n${problems.join('\n')}`)
})

test('the map shows organisations as markers, with the same places listed beside it', async () => {
  const { context, page } = await person(null)
  await page.goto(`${base}/map`)
  await page.waitForSelector('#map .leaflet-interactive')
  assert.equal(await page.locator('#map .leaflet-interactive').count(), 2, 'two organisations have a place')
  assert.match(await page.locator('.map-list').innerText(), /Le Labo de l'ESS/)
  const link = page.locator('.leaflet-popup-content a', { hasText: "Le Labo de l'ESS" })
  for (const marker of await page.locator('#map .leaflet-interactive').all()) {
    await marker.click()
    await page.waitForTimeout(300)
    if ((await link.count()) > 0) break
  }
  assert.equal(await link.innerText(), "Le Labo de l'ESS")
  assert.equal(await link.getAttribute('href'), '/s/ressources/le-labo-de-l-ess')
  await shot(page, '09-map')
  await context.close()
})

test('markup in titles, names and texts stays text wherever the browser code puts it', async () => {
  // The map's tooltips and popups.
  const { context, page } = await person(null)
  await page.goto(`${base}/map`)
  await page.waitForSelector('#map .leaflet-interactive')
  for (const marker of await page.locator('#map .leaflet-interactive').all()) {
    await marker.hover()
    await marker.click()
  }
  await page.waitForSelector('.leaflet-tooltip')
  assert.match(await page.locator('#map').innerText(), /<img src=x id=injected-title>Structure piège/)
  assert.equal(await page.locator('#injected-title').count(), 0, 'no element made from a title')
  await context.close()

  // Presence: the people list and the named cursors.
  const a = await person('sophie@example.org')
  const b = await person('piege@example.org')
  await openEditor(a.page, '/s/chantier-1/boite-a-outils/edit')
  await openEditor(b.page, '/s/chantier-1/boite-a-outils/edit')
  await b.page.click('.cm-content')
  await b.page.keyboard.press('Control+End')
  await b.page.keyboard.type(' <img src=x id=injected-text onerror=alert(1)>')
  // What a hostile client claims about itself is not what others see.
  await b.page.evaluate(() => window.rucheEditor.provider.awareness.setLocalStateField('user', { name: 'Administratrice', color: 'red; position: fixed; inset: 0' }))
  await a.page.waitForSelector('[data-role=people] li:has-text("Piège")')
  const people = await a.page.locator('[data-role=people]').innerText()
  assert.match(people, /<img src=x id=injected-name>Piège/)
  assert.doesNotMatch(people, /Administratrice/)
  await a.page.waitForSelector('.cm-ySelectionInfo')
  assert.equal(await a.page.locator('#injected-name').count(), 0, 'no element made from a name')
  const colours = await a.page.locator('[data-role=people] .dot').evaluateAll((dots) => dots.map((d) => d.getAttribute('style')))
  for (const style of colours) assert.match(style, /^background: (#[0-9a-f]{6}|rgb\(\d+, \d+, \d+\));?$/, style)
  // The preview shows the text typed as markup inertly.
  await a.page.waitForFunction(() => window.rucheEditor.doc.getText('body').toString().includes('injected-text'))
  await a.page.waitForSelector('[data-role=preview]:has-text("Outils")')
  assert.equal(await a.page.locator('[data-role=preview] [onerror]').count(), 0)
  await shot(a.page, '13-injected-markup')
  await a.context.close()
  await b.context.close()
})

test('a place is picked on the map of the entry form', async () => {
  const { context, page } = await person('sophie@example.org')
  await page.goto(`${base}/s/ressources/savoir-devenir/fields`)
  await page.waitForSelector('.point-picker .leaflet-container, .point-picker.leaflet-container')
  const picker = page.locator('.point-picker')
  await picker.scrollIntoViewIfNeeded()
  const box = await picker.boundingBox()
  await picker.click({ position: { x: box.width / 2, y: box.height / 2 } })
  const lat = await page.inputValue('#field-point-lat')
  const lon = await page.inputValue('#field-point-lon')
  assert.ok(Number.isFinite(parseFloat(lat)) && Number.isFinite(parseFloat(lon)), `picked ${lat}, ${lon}`)
  await Promise.all([page.waitForURL((url) => url.pathname === '/s/ressources/savoir-devenir'), page.click('main form button[type=submit]')])
  const geojson = await (await fetch(`${base}/api/forms/organisation/entries.geojson`)).json()
  const placed = geojson.features.find((f) => f.properties.title === 'Savoir Devenir')
  assert.ok(placed, 'the picked place is saved and on the map')
  assert.equal(placed.geometry.coordinates[1].toFixed(5), parseFloat(lat).toFixed(5))
  await shot(page, '10-point-picked')
  await context.close()
})

test('the agenda shows today\'s event in the month and in the upcoming list', async () => {
  const { context, page } = await person(null)
  await page.goto(`${base}/agenda`)
  assert.match(await page.locator('td[aria-current=date]').innerText(), /Atelier de prototypage/)
  assert.match(await page.locator('ol.events').innerText(), /Atelier de prototypage/)
  await shot(page, '11-agenda')
  await context.close()
})

test('the search box in every page finds a page by a word without its accent', async () => {
  const { context, page } = await person(null)
  await page.goto(`${base}/s/ressources/guide`)
  await page.fill('#site-search-q', 'cooperation')
  await Promise.all([page.waitForURL((url) => url.pathname === '/search'), page.press('#site-search-q', 'Enter')])
  const deadline = Date.now() + TIMEOUT
  while (!(await page.locator('ol.hits').innerText().catch(() => '')).includes('Guide')) {
    if (Date.now() > deadline) assert.fail('the guide was never found')
    await new Promise((resolve) => setTimeout(resolve, 200))
    await page.reload()
  }
  assert.match(await page.locator('ol.hits mark').first().innerText(), /coopération/i)
  await shot(page, '12-search')
  await context.close()
})

test('the pages people read most, on a 390 px phone and at 1280 px (screenshots to look at)', async () => {
  const pages = [
    ['home', '/'],
    ['space', '/s/chantier-1'],
    ['roadmap', '/s/chantier-1/feuille-de-route'],
    ['editor', '/s/chantier-1/feuille-de-route/edit'],
    ['event', '/s/ressources/atelier-de-prototypage'],
    ['agenda', '/agenda'],
    ['map', '/map']
  ]
  for (const [width, height] of [[390, 844], [1280, 900]]) {
    const { context, page } = await person('celine@example.org', { viewport: { width, height } })
    for (const [name, url] of pages) {
      await page.goto(`${base}${url}`)
      if (url.endsWith('/edit')) await page.waitForFunction(() => window.rucheEditor && window.rucheEditor.provider.synced)
      if (url === '/map') await page.waitForSelector('#map .leaflet-interactive')
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
      assert.ok(overflow <= 0, `${url} at ${width}px scrolls sideways by ${overflow}px`)
      await shot(page, `20-${name}-${width}`)
    }
    await context.close()
  }
})

test('a newcomer asks to join a members-only space, and its owner lets them in', async () => {
  for (const [width, height] of [[390, 844], [1280, 900]]) {
    const { context, page } = await person('nadia@example.org', { viewport: { width, height } })
    await page.goto(`${base}/s/chantier-1`)
    await page.waitForSelector('text=Sophie Aouizerate')
    await shot(page, `30-join-${width}`)
    await context.close()
  }
  const nadia = await person('nadia@example.org')
  await nadia.page.goto(`${base}/s/chantier-1`)
  await nadia.page.fill('#f-message', 'Je coordonne un pôle territorial en Bretagne.')
  await Promise.all([nadia.page.waitForURL(/\/s\/chantier-1$/), nadia.page.click('text=Demander à rejoindre')])
  await nadia.page.waitForSelector('text=Vous avez demandé à rejoindre cet espace le')
  await shot(nadia.page, '31-join-asked')
  const sophie = await person('sophie@example.org', { viewport: { width: 390, height: 844 } })
  await sophie.page.goto(`${base}/`)
  await sophie.page.click('a[href="/s/chantier-1/members#demandes"]')
  await sophie.page.waitForSelector('text=Je coordonne un pôle territorial en Bretagne.')
  await shot(sophie.page, '32-join-requests-390')
  await Promise.all([sophie.page.waitForURL(/\/members$/), sophie.page.click('button[value=accept]')])
  await sophie.page.waitForSelector('text=Nadia Benali fait maintenant partie de l\'espace.')
  await nadia.page.goto(`${base}/`)
  await nadia.page.waitForSelector('text=acceptée le')
  await nadia.page.goto(`${base}/s/chantier-1`)
  await nadia.page.waitForSelector('a[href="/s/chantier-1/feuille-de-route"]')
  await sophie.context.close()
  await nadia.context.close()
})

test('a new event is one form, made when it is valid', async () => {
  for (const [width, height] of [[390, 844], [1280, 900]]) {
    const { context, page } = await person('celine@example.org', { viewport: { width, height } })
    await page.goto(`${base}/agenda`)
    await page.click('text=Ajouter un événement')
    // Céline writes in two spaces: she chooses where (each says who will see the event), then
    // fills the one form, which says it again beside its button.
    await page.waitForSelector('form.space-choice')
    await shot(page, `33-which-space-${width}`)
    await page.check('form.space-choice input[name=space][value=ressources]')
    await Promise.all([page.waitForURL(/\/s\/ressources\/new\?form=event/), page.click('form.space-choice button[type=submit]')])
    await page.waitForSelector('#f-_title')
    assert.match(await page.locator('main').innerText(), /Qui le verra \?/)
    await shot(page, `33-new-event-${width}`)
    await context.close()
  }
})

test('a name after @ is offered as one types, and the person named sees the bell count change without reloading', async () => {
  // Céline reads another page; her bell shows nothing new.
  const celine = await person('celine@example.org', { viewport: { width: 1280, height: 900 } })
  await celine.page.goto(`${base}/s/chantier-1/boite-a-outils`)
  const count = celine.page.locator('.bar.wide a.bell .count')
  assert.equal(await count.isHidden(), true, 'nothing unread yet')
  // Sophie types @cél in the road map: Céline is offered, by her name.
  const sophie = await person('sophie@example.org', { viewport: { width: 1280, height: 900 } })
  await openEditor(sophie.page, '/s/chantier-1/feuille-de-route/edit')
  await sophie.page.click('.cm-content')
  await sophie.page.keyboard.press('Control+End')
  await sophie.page.keyboard.type(' Merci @cél')
  const offered = sophie.page.locator('.cm-tooltip-autocomplete li')
  await offered.first().waitFor()
  assert.match(await offered.first().innerText(), /@celine-coubard\s*Céline Coubard/)
  await shot(sophie.page, '34-mention-offered')
  await sophie.page.keyboard.press('Enter')
  await sophie.page.keyboard.type('pour la relecture.')
  assert.match(await editorText(sophie.page), /Merci @celine-coubard pour la relecture\./)
  // When Sophie's session settles, Céline's open page shows it, without reloading.
  await celine.page.waitForFunction(() => {
    const c = document.querySelector('.bar.wide a.bell .count')
    return c && !c.hidden && c.textContent.trim() === '1'
  }, null, { timeout: 30000 })
  await shot(celine.page, '35-bell-1280')
  await Promise.all([celine.page.waitForURL((url) => url.pathname === '/notifications'), celine.page.click('.bar.wide a.bell')])
  assert.match(await celine.page.locator('main').innerText(), /Sophie Aouizerate vous a mentionné·e dans « Feuille de route »/)
  await shot(celine.page, '36-notifications-1280')
  await celine.page.setViewportSize({ width: 390, height: 844 })
  await shot(celine.page, '36-notifications-390')
  await Promise.all([celine.page.waitForURL((url) => url.pathname === '/s/chantier-1/feuille-de-route'), celine.page.click('main ul.notifications a')])
  assert.equal(await celine.page.locator('.bar.narrow a.bell .count').isHidden(), true, 'read once opened')
  await celine.page.goto(`${base}/account#notifications`)
  await shot(celine.page, '37-account-390')
  await sophie.context.close()
  await celine.context.close()
})

test('a comment appears for the others on the page without reloading; replies; without JavaScript too', async () => {
  const sophie = await person('sophie@example.org', { viewport: { width: 1280, height: 900 } })
  const celine = await person('celine@example.org', { viewport: { width: 1280, height: 900 } })
  const page = '/s/chantier-1/boite-a-outils'
  await sophie.page.goto(`${base}${page}`)
  await celine.page.goto(`${base}${page}`)
  // Céline's page listens for changes (its stream is open) before Sophie writes.
  await celine.page.waitForFunction(() => document.querySelector('#discussion[data-events]'))
  await celine.page.waitForTimeout(500)
  await sophie.page.fill('#new-comment', 'Je propose de **relire** ensemble mardi.')
  const sent = Date.now()
  await Promise.all([sophie.page.waitForURL(/#comment-\d+$/), sophie.page.click('#discussion > form.comment-form button[type=submit]')])
  await celine.page.waitForSelector('#discussion article.comment:has-text("relire ensemble mardi")', { timeout: 5000 })
  console.log(`comment seen by the other reader ${Date.now() - sent} ms after posting`)
  assert.match(await celine.page.locator('#discussion [data-role=comment-count]').innerText(), /\(1\)/)
  await shot(celine.page, '40-comment-live-1280')
  // Céline replies; Sophie sees the reply come.
  await celine.page.click('#discussion details.reply > summary')
  await celine.page.fill('#discussion details.reply textarea', 'Mardi me va, à 14 h.')
  await Promise.all([celine.page.waitForURL(/#comment-\d+$/), celine.page.click('#discussion details.reply button[type=submit]')])
  await sophie.page.waitForSelector('#discussion ol.replies article.comment:has-text("Mardi me va")', { timeout: 5000 })
  await shot(sophie.page, '41-reply-live-1280')
  // Léa reads without JavaScript: the discussion is plain forms that work.
  const lea = await person('lea@example.org', { javaScriptEnabled: false, viewport: { width: 360, height: 780 } })
  await lea.page.goto(`${base}${page}`)
  await lea.page.fill('#new-comment', 'Je serai là aussi.')
  await Promise.all([lea.page.waitForURL(/#comment-\d+$/), lea.page.click('#discussion > form.comment-form button[type=submit]')])
  assert.match(await lea.page.locator('#discussion').innerText(), /Je serai là aussi\./)
  await shot(lea.page, '42-comment-no-js-360')
  // Without JavaScript, the edit page's upload field adds a file to the page.
  const writer = await person('celine@example.org', { javaScriptEnabled: false, viewport: { width: 360, height: 780 } })
  await writer.page.goto(`${base}${page}/edit`)
  await writer.page.setInputFiles('#upload-file', { name: 'programme.txt', mimeType: 'text/plain', buffer: Buffer.from('Programme de la journée\n') })
  await Promise.all([writer.page.waitForURL((url) => url.pathname.endsWith('/edit')), writer.page.click('#plain-upload button[type=submit]')])
  assert.match(await writer.page.locator('main').innerText(), /programme\.txt/)
  assert.match(await storedText('chantier-1/boite-a-outils'), /\[programme\.txt\]\(\/s\/chantier-1\/boite-a-outils\/files\/[0-9a-f]{64}\)/)
  await shot(writer.page, '42-upload-no-js-360')
  await writer.context.close()
  await sophie.page.waitForSelector('#discussion article.comment:has-text("Je serai là aussi")', { timeout: 5000 })
  // Phone: the discussion and the exchanges read at 360 px without sideways scrolling.
  await celine.page.setViewportSize({ width: 360, height: 780 })
  await celine.page.goto(`${base}${page}#discussion`)
  await shot(celine.page, '43-discussion-360')
  await celine.page.goto(`${base}/s/chantier-1/discussions`)
  assert.match(await celine.page.locator('main').innerText(), /Boite a outils/)
  const wide = await celine.page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1)
  assert.equal(wide, false, 'no sideways scrolling at 360 px')
  await shot(celine.page, '44-exchanges-360')
  await celine.page.setViewportSize({ width: 1280, height: 900 })
  await celine.page.goto(`${base}/s/chantier-1/discussions`)
  await shot(celine.page, '44-exchanges-1280')
  await sophie.context.close()
  await celine.context.close()
  await lea.context.close()
})

test('formatting shows as one types: bold without its marks, a checkbox ticks for the other person, the code on demand', async () => {
  const sophie = await person('sophie@example.org', { viewport: { width: 1280, height: 900 } })
  const celine = await person('celine@example.org', { viewport: { width: 1280, height: 900 } })
  await openEditor(sophie.page, '/s/chantier-1/brouillon/edit')
  await openEditor(celine.page, '/s/chantier-1/brouillon/edit')
  await sophie.page.click('.cm-content')
  await sophie.page.keyboard.press('Control+End')
  await sophie.page.keyboard.type('\n## Un titre\nVoir [[Feuille de route]] et [[Page à écrire]].\nDu texte en **gras** ici.\n- [ ] relire le guide')
  // The cursor goes back to the first line: the others show their meaning, not their marks.
  await sophie.page.keyboard.press('Control+Home')
  const boldLine = sophie.page.locator('.cm-line', { hasText: 'Du texte en' })
  await sophie.page.waitForSelector('.cm-line .cm-md-strong')
  assert.doesNotMatch(await boldLine.innerText(), /\*\*/, 'no asterisks on screen')
  assert.match(await boldLine.locator('.cm-md-strong').innerText(), /gras/)
  assert.match(await editorText(sophie.page), /\*\*gras\*\*/, 'the text still holds the marks')
  assert.equal(await sophie.page.locator('.cm-md-h2').count(), 1, 'the heading is a heading')
  // A table is laid out as a grid, its pipes not shown.
  await sophie.page.click('button[data-action=table]')
  await sophie.page.keyboard.press('Control+Home')
  await sophie.page.waitForSelector('.cm-md-thead .cm-md-cell')
  assert.doesNotMatch(await sophie.page.locator('.cm-md-thead').innerText(), /\|/)
  // A wiki link to a page that does not exist yet is red; one to a page that exists is not.
  await sophie.page.waitForSelector('.cm-md-missing:has-text("Page à écrire")')
  assert.equal(await sophie.page.locator('.cm-md-missing:has-text("Feuille de route")').count(), 0)
  await shot(sophie.page, '45-live-format-1280')
  // Sophie ticks the task: Céline's text says [x].
  await sophie.page.click('input.cm-md-task')
  await celine.page.waitForFunction(() => window.rucheEditor.doc.getText('body').toString().includes('- [x] relire le guide'))
  // Shortcuts: Ctrl+B makes bold.
  await sophie.page.keyboard.press('Control+End')
  await sophie.page.keyboard.press('Enter')
  await sophie.page.keyboard.press('Control+b')
  assert.match(await editorText(sophie.page), /\*\*texte\*\*/)
  // Céline prefers the code: the marks are there, and stay so on her next visit.
  await celine.page.check('[data-role=show-markdown]')
  await celine.page.waitForFunction(() => [...document.querySelectorAll('.cm-line')].some((l) => l.textContent.includes('**gras**')))
  await shot(celine.page, '46-show-markdown-1280')
  await openEditor(celine.page, '/s/chantier-1/brouillon/edit')
  assert.equal(await celine.page.isChecked('[data-role=show-markdown]'), true)
  assert.equal(await celine.page.locator('.cm-md-strong').count(), 0)
  await celine.page.uncheck('[data-role=show-markdown]')
  // The phone: the toolbar is usable, nothing scrolls sideways.
  await sophie.page.setViewportSize({ width: 360, height: 780 })
  await openEditor(sophie.page, '/s/chantier-1/brouillon/edit')
  const wide = await sophie.page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1)
  assert.equal(wide, false, 'no sideways scrolling at 360 px')
  assert.equal(await sophie.page.isChecked('[data-role=show-preview]'), false, 'no preview by default on a phone')
  await shot(sophie.page, '47-live-format-360')
  await sophie.context.close()
  await celine.context.close()
})

test('a new page made from the meeting minutes template holds its headings', async () => {
  for (const [width, height] of [[390, 844], [1280, 900]]) {
    const { context, page } = await person('sophie@example.org', { viewport: { width, height } })
    await page.goto(`${base}/s/chantier-1/new`)
    await shot(page, `48-new-page-templates-${width}`)
    await context.close()
  }
  const { context, page } = await person('sophie@example.org', { viewport: { width: 1280, height: 900 } })
  await page.goto(`${base}/s/chantier-1/new`)
  await page.fill('#f-title', 'Réunion du 3 mars')
  await page.check('input[name=template][value="b:compte-rendu"]')
  await Promise.all([page.waitForURL((url) => url.pathname.endsWith('/edit')), page.click('main form button[type=submit]')])
  await page.waitForFunction(() => window.rucheEditor && window.rucheEditor.provider.synced)
  await page.waitForSelector('.cm-md-h2')
  assert.ok(await page.locator('.cm-md-h2').count() >= 5, 'the headings of the minutes')
  assert.match(await editorText(page), /## Décisions/)
  await shot(page, '49-from-template-1280')
  await context.close()
})

test('a picture pasted into the editor is uploaded and the other person sees it', async () => {
  const sophie = await person('sophie@example.org', { viewport: { width: 1280, height: 900 } })
  const celine = await person('celine@example.org', { viewport: { width: 1280, height: 900 } })
  await openEditor(sophie.page, '/s/chantier-1/boite-a-outils/edit')
  await openEditor(celine.page, '/s/chantier-1/boite-a-outils/edit')
  await sophie.page.click('.cm-content')
  await sophie.page.keyboard.press('Control+End')
  await sophie.page.keyboard.press('Enter')
  sophie.page.once('dialog', (dialog) => dialog.accept('Le logo du réseau'))
  // A 1×1 PNG on the clipboard, pasted.
  await sophie.page.evaluate(() => {
    const bytes = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGMAAQAABQABDQottAAAAABJRU5ErkJggg=='), (c) => c.charCodeAt(0))
    const data = new DataTransfer()
    data.items.add(new File([bytes], 'logo.png', { type: 'image/png' }))
    document.querySelector('.cm-content').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
  })
  await sophie.page.waitForFunction(() => /!\[Le logo du réseau\]\(\/s\/chantier-1\/boite-a-outils\/files\/[0-9a-f]{64}\)/.test(window.rucheEditor.doc.getText('body').toString()))
  // Céline's cursor is elsewhere: she sees the picture itself, loaded from the site.
  await celine.page.click('.cm-content')
  await celine.page.keyboard.press('Control+Home')
  const picture = celine.page.locator('img.cm-md-image[alt="Le logo du réseau"]')
  await picture.waitFor()
  await celine.page.waitForFunction(() => { const img = document.querySelector('img.cm-md-image'); return img && img.complete && img.naturalWidth > 0 })
  await shot(celine.page, '50-picture-pasted-1280')
  // A file the site does not take: the reason is told, nothing is written.
  const before = await editorText(sophie.page)
  await sophie.page.evaluate(() => {
    const data = new DataTransfer()
    data.items.add(new File(['<svg xmlns="http://www.w3.org/2000/svg"></svg>'], 'dessin.svg', { type: 'text/plain' }))
    document.querySelector('.cm-content').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
  })
  await sophie.page.waitForSelector('[data-role=status]:has-text("dessin.svg")')
  assert.equal(await editorText(sophie.page), before)
  await sophie.context.close()
  await celine.context.close()
})

test('the link dialog finds a page by a word of its title and writes a wiki link', async () => {
  const { context, page } = await person('sophie@example.org', { viewport: { width: 1280, height: 900 } })
  await openEditor(page, '/s/chantier-1/brouillon/edit')
  await page.click('.cm-content')
  await page.keyboard.press('Control+End')
  await page.keyboard.press('Enter')
  await page.click('button[data-action=wikilink]')
  await page.fill('#link-search', 'route')
  const found = page.locator('[data-role=link-results] button', { hasText: 'Feuille de route' })
  await found.first().waitFor()
  await shot(page, '51-link-dialog-1280')
  await found.first().click()
  await page.waitForFunction(() => window.rucheEditor.doc.getText('body').toString().includes('[[feuille-de-route|Feuille de route]]'))
  // A web address, through the same dialog.
  await page.click('button[data-action=link]')
  await page.fill('#link-url', 'https://www.example.org/guide')
  await page.click('[data-role=link-url-ok]')
  await page.waitForFunction(() => window.rucheEditor.doc.getText('body').toString().includes('(https://www.example.org/guide)'))
  await context.close()
})

test('every page worked under the Content-Security-Policy (no inline script, nothing blocked)', async () => {
  const { context, page } = await person('sophie@example.org')
  const response = await page.goto(`${base}/s/chantier-1/feuille-de-route/edit`)
  const policy = response.headers()['content-security-policy']
  assert.match(policy, /script-src 'self'/)
  assert.match(policy, /script-src 'self';/)
  assert.doesNotMatch(policy, /unsafe-eval/)
  await openEditor(page, '/s/chantier-1/feuille-de-route/edit')
  await context.close()
  assert.deepEqual(blocked, [])
})
