import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../src/users/password-policy.ts';

describe('password policy (NIST SP 800-63B)', () => {
  it('accepts 8 to 256 characters', () => {
    assert.equal(MIN_PASSWORD_LENGTH, 8);
    assert.equal(MAX_PASSWORD_LENGTH, 256);
    assert.deepEqual(checkPassword('kq7#vR2m'), { ok: true });
    assert.deepEqual(checkPassword('kq7#vR2'), { ok: false, reason: 'too_short' });
    assert.deepEqual(checkPassword('a'.repeat(256)), { ok: true });
    assert.deepEqual(checkPassword('a'.repeat(257)), { ok: false, reason: 'too_long' });
    assert.deepEqual(checkPassword(''), { ok: false, reason: 'too_short' });
  });

  it('counts Unicode code points', () => {
    assert.deepEqual(checkPassword('ü'.repeat(8)), { ok: true });
    assert.deepEqual(checkPassword('🦊'.repeat(7)), { ok: false, reason: 'too_short' });
    assert.deepEqual(checkPassword('🦊'.repeat(8)), { ok: true });
    assert.deepEqual(checkPassword('🦊'.repeat(256)), { ok: true });
    assert.deepEqual(checkPassword('🦊'.repeat(257)), { ok: false, reason: 'too_long' });
  });

  it('has no composition rules: lower-case words and spaces are fine', () => {
    assert.deepEqual(checkPassword('correct horse battery staple'), { ok: true });
    assert.deepEqual(checkPassword('zzzzqqqqwwwwxx'), { ok: true });
  });

  it('refuses commonly used and breached passwords from the shipped list, whatever their case', () => {
    for (const password of ['password1', 'qwertyuiop', '12345678', 'iloveyou', 'Password1', 'QWERTYUIOP', 'sunshine']) {
      assert.deepEqual(checkPassword(password), { ok: false, reason: 'common' }, password);
    }
  });
});
