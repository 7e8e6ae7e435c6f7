import { test } from 'node:test';
import assert from 'node:assert/strict';
test('smoke', () => { const n: number = 2; assert.equal(n, 2); });
