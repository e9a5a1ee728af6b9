// Minimal assertions (no download of @std/assert: only the npm registry is reachable here).
import { deepStrictEqual } from 'node:assert';

export function assert(value, message = 'assertion failed') {
  if (!value) throw new Error(message);
}
export function assertEquals(actual, expected, message) {
  deepStrictEqual(actual, expected, message);
}
export function assertMatch(text, re, message) {
  if (!re.test(text)) throw new Error(message ?? `${JSON.stringify(text)} does not match ${re}`);
}
export async function assertRejects(fn) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}
