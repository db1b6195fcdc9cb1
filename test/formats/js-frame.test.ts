// The one form of a JavaScript frame (src/formats/js-frame.ts); real captures from both back-ends
// are compared in test/capture/backends.test.ts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { jsFrame } from '../../src/formats/js-frame.js'

test('the agent\'s anonymous names give up their position to line and column', () => {
  assert.deepEqual(jsFrame('(anonymous:L#2:C#13)', '/srv/app.js', undefined, undefined), { name: '(anonymous)', file: '/srv/app.js', module: '/srv/app.js', line: 2, col: 13 })
  assert.deepEqual(jsFrame('(anonymous:L#7)', '/srv/app.js', undefined, undefined), { name: '(anonymous)', file: '/srv/app.js', module: '/srv/app.js', line: 7 })
  // a line the format recorded wins over the one in the name; a real function name is left alone
  assert.equal(jsFrame('(anonymous:L#2:C#13)', '/a.js', 9, undefined).line, 9)
  assert.equal(jsFrame('(anonymous:L#x)', '/a.js', 1, 1).name, '(anonymous:L#x)')
  assert.equal(jsFrame('', '/a.js', 1, 1).name, '(anonymous)')
})

test('file: URLs become paths (escapes decoded), other URLs stay, modules follow the path', () => {
  assert.deepEqual(jsFrame('connect', 'file:///srv/my%20app/node_modules/ws/lib/ws.js', 10, 5), { name: 'connect', file: '/srv/my app/node_modules/ws/lib/ws.js', module: 'ws', line: 10, col: 5 })
  assert.deepEqual(jsFrame('connect', 'node:net', 1038, undefined), { name: 'connect', file: 'node:net', module: 'node:net', line: 1038 })
  assert.equal(jsFrame('f', 'https://example.test/app.js', 1, 1).file, 'https://example.test/app.js')
  assert.equal(jsFrame('f', 'file://server/share/app.js', 1, 1).file, 'file://server/share/app.js', 'a URL with a host is no local path: kept')
  assert.equal(jsFrame('f', undefined, 0, 0).line, undefined, 'no position: none invented')
})
