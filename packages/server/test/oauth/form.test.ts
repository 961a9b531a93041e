import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { parseForm } from '../../src/oauth/form.js';

/** The reference: WHATWG parsing (URLSearchParams), RFC 6749 §3.2 repeats refused, empty = absent. */
function reference(body: string): Map<string, string> | 'duplicate' {
  const all = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (all.has(name)) return 'duplicate';
    all.set(name, value);
  }
  return new Map([...all].filter(([, value]) => value !== ''));
}

function actual(body: string): Map<string, string> | 'duplicate' {
  let form;
  try {
    form = parseForm(body);
  } catch (err) {
    assert.match((err as Error).message, /included more than once/);
    return 'duplicate';
  }
  return new Map(form.names().map((name) => [name, form.get(name)!]));
}

test('parseForm: the literal fast path and URLSearchParams agree', () => {
  const cases = [
    '',
    '&',
    '&&a=1&&',
    'grant_type=client_credentials',
    'grant_type=client_credentials&scope=a+b',
    'token=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    'a=1&a=2',
    'a=&a=2',
    'a&a',
    'a=b=c',
    '=x',
    '=x&=y',
    '?a=1',
    'a=%41&b=%zz&c=%',
    'client_id=a%3Ab&client_secret=s%2Bt',
    'x=1&y&z=',
    'ü=ö&b=€',
  ];
  const alphabet = ['a', 'b', '=', '&', '%', '+', '?', '2', '0', 'é', '.'];
  for (let i = 0; i < 2000; i++) {
    cases.push(Array.from({ length: randomInt(0, 12) }, () => alphabet[randomInt(alphabet.length)]).join(''));
  }
  for (const body of cases) assert.deepEqual(actual(body), reference(body), JSON.stringify(body));
});

test('parseForm: an empty value is absent but still counts as sent (RFC 6749 §3.1, §3.2)', () => {
  const form = parseForm('scope=&grant_type=client_credentials');
  assert.equal(form.get('scope'), undefined);
  assert.equal(form.has('scope'), false);
  assert.throws(() => form.require('scope'), /missing required parameter "scope"/);
  assert.deepEqual(form.names(), ['grant_type']);
  assert.throws(() => parseForm('scope=&scope=a'), /parameter "scope" included more than once/);
});
