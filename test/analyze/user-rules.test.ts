// User rules: same engine as the built-ins; every error names the rule and the field.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { analyzeProfile, BUILTIN_RULE_IDS } from '../../src/analyze/index.js'
import { parseUserRules, parseRulesYaml } from '../../src/analyze/rules/user-rules.js'
import { UsageError } from '../../src/util/errors.js'
import { folded } from './helpers.js'

const PROFILE = [
  'main;exportTick;exportSpans;serializeEvent;JSON.stringify 30',
  'main;handler;serializeEvent;JSON.stringify 5',
  'main;runGossip 15',
  '(idle) 50',
].join('\n') + '\n'

test('a JSON user rule with frame + ancestor runs in the engine, thresholds apply, message placeholders are filled', async () => {
  const rules = parseUserRules(JSON.stringify([
    { id: 'export-serialize', frame: '^serializeEvent$', ancestor: 'exportSpans', threshold: 0.2, severity: 'medium', message: 'exporter serialisation takes {share} ({frame})', remedy: 'batch events' },
  ]), 'my-rules.json', BUILTIN_RULE_IDS)
  const p = await folded(PROFILE)
  const f = analyzeProfile(p, { rules }).filter((x) => x.ruleId === 'export-serialize')
  assert.equal(f.length, 1)
  assert.equal(f[0]!.severity, 'medium')
  // shares are of the on-CPU samples (src/model/cpu-basis.ts): 30 of the 50 that are not (idle)
  assert.equal(f[0]!.share, 0.6, 'only the serializeEvent under exportSpans counts (30 of 50 on-CPU), not the one under handler')
  assert.equal(f[0]!.message, 'exporter serialisation takes 60.0% (serializeEvent)')
  assert.equal(f[0]!.remedy, 'batch events')
  assert.deepEqual(f[0]!.frames, ['serializeEvent'])
  // the rule's threshold is overridable like a built-in's
  assert.deepEqual(analyzeProfile(p, { rules, thresholds: { 'export-serialize.threshold': 0.7 } }).filter((x) => x.ruleId === 'export-serialize'), [])
  // without the ancestor both serializeEvent stacks count
  const all = parseUserRules(JSON.stringify({ rules: [{ id: 'ser', frame: 'serializeEvent', threshold: '10%', severity: 'low', message: 'm' }] }), 'r.json')
  assert.equal(analyzeProfile(p, { rules: all }).find((x) => x.ruleId === 'ser')!.share, 0.7)
})

test('YAML rules read the same as JSON ones', async () => {
  const yaml = [
    '# my rules',
    'rules:',
    '  - id: export-serialize',
    "    frame: '^serializeEvent$'",
    '    ancestor: exportSpans   # only under the exporter',
    '    threshold: 0.2',
    '    severity: high',
    '    message: "exporter serialisation: {share}"',
    '  - id: gossip',
    '    frame: runGossip',
    '    threshold: 5%',
    '    severity: info',
    '    message: gossip {share}',
  ].join('\n')
  const rules = parseUserRules(yaml, 'rules.yaml', BUILTIN_RULE_IDS)
  assert.deepEqual(rules.map((r) => [r.id, r.severity, r.thresholds.threshold!.default]), [['export-serialize', 'high', 0.2], ['gossip', 'info', 0.05]])
  const fs = analyzeProfile(await folded(PROFILE), { rules, builtins: false })
  assert.deepEqual(fs.map((f) => [f.ruleId, f.message]), [['export-serialize', 'exporter serialisation: 60.0%'], ['gossip', 'gossip 30.0%']])
  assert.deepEqual(parseRulesYaml("- id: 'it''s'\n  n: 1.5e1\n  b: true\n  z: ~\n", 'x.yaml').data, [{ id: "it's", n: 15, b: true, z: null }])
})

function err(text: string, file = 'my-rules.json'): string {
  try {
    parseUserRules(text, file, BUILTIN_RULE_IDS)
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e))
    assert.equal((e as UsageError).exitCode, 2)
    assert.ok(!(e as Error).message.includes('\n'))
    return (e as Error).message
  }
  assert.fail('no error')
}

test('errors in a rules file name the file, the rule (index and id) and the field', () => {
  const ok = { id: 'a', frame: 'x', threshold: 0.1, severity: 'low', message: 'm' }
  const two = (bad: object) => JSON.stringify([ok, { ...ok, id: 'b', ...bad }])
  assert.match(err(two({ frame: '(unclosed' })), /^rules file my-rules\.json: rule 2 \(id "b"\): field "frame": invalid regular expression/)
  assert.match(err(two({ ancestor: '[z-a]' })), /rule 2 \(id "b"\): field "ancestor": invalid regular expression/)
  assert.match(err(two({ severity: 'critical' })), /rule 2 \(id "b"\): field "severity": must be high, medium, low or info, got "critical"/)
  assert.match(err(two({ threshold: 2 })), /rule 2 \(id "b"\): field "threshold": must be between 0 and 1/)
  assert.match(err(two({ threshold: 'lots' })), /field "threshold": must be a number 0\.\.1 or a percentage/)
  assert.match(err(two({ treshold: 0.1 })), /rule 2 \(id "b"\): field "treshold": unknown field/)
  assert.match(err(two({ id: 'a' })), /rule 2 \(id "a"\): field "id": "a" is used twice/)
  assert.match(err(two({ id: 'connect-storm' })), /field "id": "connect-storm" is a built-in rule/)
  assert.match(err(JSON.stringify([ok, { frame: 'x', threshold: 0.1, severity: 'low', message: 'm' }])), /rule 2: field "id": missing/)
  assert.match(err(JSON.stringify([{ ...ok, message: '' }])), /rule 1 \(id "a"\): field "message": must not be empty/)
  assert.match(err('{"rules": 3}'), /expected a list of rules/)
  assert.match(err('[{"id": '), /not valid JSON/)
  assert.match(err('- id: a\n  frame: [x]\n', 'r.yml'), /^rules file r\.yml: line 2, column 10: rule 1 \(id "a"\): field "frame": must be a string$/)
  assert.match(err('- id: a\n  frame: x\n  frame: y\n', 'r.yml'), /^rules file r\.yml: line 3, column 3: not valid YAML: Map keys must be unique$/)
  assert.match(err('- id: a\n  frame: x\n  threshold: 0.1\n  severity: low\n  message: m\n  bogus: 1\n', 'r.yml'), /line 6, column 10: rule 1 \(id "a"\): field "bogus": unknown field/)
})

const RULE_OK = '  frame: runGossip\n  threshold: 0.1\n  severity: low\n'

test('valid YAML the old hand-written subset refused: flow maps, block scalars, anchors and merges', async () => {
  const yaml = [
    'rules:',
    '  - {id: flow, frame: "^runGossip$", threshold: 0.1, severity: info, message: "flow {share}"}',
    '  - id: folded',
    '    frame: runGossip',
    '    threshold: 0.05',
    '    severity: medium',
    '    message: >-',
    '      gossip takes',
    '      {share}',
    "    remedy: 'tick less often' # a comment after a quoted string",
  ].join('\n')
  const rules = parseUserRules(yaml, 'r.yaml', BUILTIN_RULE_IDS)
  const fs = analyzeProfile(await folded(PROFILE), { rules, builtins: false })
  // on the on-CPU basis (src/model/cpu-basis.ts): 15 of the 50 samples that are not (idle) = 30%
  assert.deepEqual(fs.map((f) => [f.ruleId, f.severity, f.message]), [['folded', 'medium', 'gossip takes 30.0%'], ['flow', 'info', 'flow 30.0%']])
  assert.equal(fs[0]!.remedy, 'tick less often')
  // an anchor and a merge of shared fields
  const merged = parseUserRules('- &base\n  id: one\n' + RULE_OK + '  message: m\n- <<: *base\n  id: two\n', 'r.yml', BUILTIN_RULE_IDS)
  assert.deepEqual(merged.map((r) => [r.id, r.severity]), [['one', 'low'], ['two', 'low']])
})

test('invalid YAML the old subset accepted is refused with its line and column', () => {
  assert.match(err('- id: a\n  frame: a: b\n' + RULE_OK.replace('  frame: runGossip\n', '') + '  message: m\n', 'r.yml'),
    /^rules file r\.yml: line 2, column 10: not valid YAML: Nested mappings are not allowed in compact mappings$/)
  assert.match(err('- id: a\n' + RULE_OK + '  message: @fast\n', 'r.yml'), /^rules file r\.yml: line 5, column 12: not valid YAML: Plain value cannot start with reserved character @$/)
  assert.match(err('- id: a\n' + RULE_OK + '  message: m\n---\n- id: b\n', 'r.yml'), /^rules file r\.yml: line \d+, column 1: not valid YAML: Source contains multiple documents/)
  // a rules file without an extension that is not JSON is read as YAML, with the same errors
  assert.match(err('- id: a\n  message: @x\n', 'rules'), /^rules file rules: line 2, column 12: not valid YAML/)
})

test('a rules file with an alias bomb is refused, not expanded', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]', 'rules: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]'].join('\n')
  assert.match(err(bomb, 'bomb.yaml'), /^rules file bomb\.yaml: not valid YAML: Excessive alias count/)
})

