// The languages of the pages and mails (accounts.md "Languages"): every catalogue has every key
// with the same placeholders, the choice follows ui_locales, then Accept-Language, then English.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as errors from '../src/errors.ts';
import { describeLifetime } from '../src/mail/templates.ts';
import { CATALOGUES, chooseLocale, LOCALES, translator, TRANSLATED_ERRORS } from '../src/pages/i18n.ts';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('language catalogues', () => {
  const reference = CATALOGUES.en;
  for (const locale of LOCALES) {
    it(`${locale} has every key of the English catalogue, no other, each with the same placeholders`, () => {
      const catalogue: Record<string, string> = CATALOGUES[locale];
      const missing = Object.keys(reference).filter((key) => !(key in catalogue));
      const extra = Object.keys(catalogue).filter((key) => !(key in reference));
      assert.deepEqual(missing, [], `${locale} lacks keys`);
      assert.deepEqual(extra, [], `${locale} has keys English does not`);
      for (const [key, text] of Object.entries(reference)) {
        const translated = catalogue[key] ?? '';
        assert.ok(translated.trim().length > 0, `${locale}: ${key} is empty`);
        assert.deepEqual(placeholders(translated), placeholders(text), `${locale}: ${key} placeholders`);
      }
    });
  }

  it('each translated error is a message of the error catalogue, and English shows it unchanged', () => {
    const messages = new Set(
      Object.values(errors)
        .filter((value): value is errors.ErrorFactory => typeof value === 'function' && 'message' in value && 'status' in value)
        .map((factory) => factory.message),
    );
    const en = translator('en');
    for (const message of TRANSLATED_ERRORS) {
      assert.ok(messages.has(message), `${message} is not in src/errors.ts`);
      assert.equal(en.error(message), message);
    }
    assert.equal(translator('de').error('Account blocked'), 'Konto gesperrt');
    assert.equal(translator('fr').error('no such message'), 'no such message');
  });
});

describe('choosing the language', () => {
  it('ui_locales first, in its order, skipping unsupported tags', () => {
    assert.equal(chooseLocale({ uiLocales: 'ja de-CH fr', acceptLanguage: 'es' }), 'de');
    assert.equal(chooseLocale({ uiLocales: 'ja', acceptLanguage: 'es-MX,en;q=0.5' }), 'es');
  });

  it('then Accept-Language by q-value, then English', () => {
    assert.equal(chooseLocale({ acceptLanguage: 'en;q=0.4, fr-CA;q=0.9, de;q=0.8' }), 'fr');
    assert.equal(chooseLocale({ acceptLanguage: 'FR' }), 'fr');
    assert.equal(chooseLocale({ acceptLanguage: 'de;q=0, ja' }), 'en');
    assert.equal(chooseLocale({ acceptLanguage: '*' }), 'en');
    assert.equal(chooseLocale({}), 'en');
  });

  it('a malformed or huge header is no error', () => {
    assert.equal(chooseLocale({ acceptLanguage: ';;;,,,q=2,<script>' }), 'en');
    assert.equal(chooseLocale({ acceptLanguage: `${'xx,'.repeat(10_000)}de` }), 'en');
    assert.equal(chooseLocale({ uiLocales: ' '.repeat(5000) }), 'en');
  });
});

describe('translations', () => {
  it('fills placeholders and says lifetimes with the language plural', () => {
    assert.equal(translator('de').t('page.sign_in_to', { app: 'Wiki' }), 'Bei Wiki anmelden');
    assert.equal(translator('en').lifetime(900), '15 minutes');
    assert.equal(translator('en').lifetime(3600), '1 hour');
    assert.equal(translator('de').lifetime(7200), '2 Stunden');
    assert.equal(translator('fr').lifetime(60), '1 minute');
    assert.equal(translator('es').lifetime(45), '45 segundos');
  });

  it('every mail text is translated, and a mail says its lifetimes in its language', () => {
    const mailKeys = Object.keys(CATALOGUES.en).filter((key) => key.startsWith('mail.'));
    assert.ok(mailKeys.length >= 20, 'the account mails have their keys');
    for (const locale of LOCALES.filter((l) => l !== 'en')) {
      const catalogue: Record<string, string> = CATALOGUES[locale];
      for (const key of mailKeys) assert.notEqual(catalogue[key], (CATALOGUES.en as Record<string, string>)[key], `${locale}: ${key} is English`);
    }
    assert.equal(describeLifetime(1800, 'en'), '30 minutes');
    assert.equal(describeLifetime(1800, 'de'), '30 Minuten');
    assert.equal(describeLifetime(86_400, 'fr'), '24 heures');
    assert.equal(describeLifetime(3600, 'es'), '1 hora');
  });
});
