// The hosted registration form asks for an optional name (sso.md "Profile claims": `name` at
// registration), filled in by the browser from autocomplete="name", and what it posts is kept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, pkcePair, type TestApp } from './support/app.ts';
import { authParams, createProject, postForm, type AuthParams, type TestProject } from './support/flow.ts';

/** What a browser submitting the form sends along. */
const BROWSER = { accept: 'text/html' };

describe('the registration form: an optional name', () => {
  let app: TestApp;
  let project: TestProject;
  before(async () => {
    app = await createTestApp();
    project = await createProject(app);
  });
  after(() => app.close());

  function authorizationFields(): Record<string, string> {
    return { ...(authParams(project.id, pkcePair().challenge) as AuthParams & Record<string, string>) };
  }

  it('the form has a name field, optional, with autocomplete="name", between the email and the password', async () => {
    const query = new URLSearchParams(authorizationFields()).toString();
    const page = await app.server.inject({ method: 'GET', url: `/register?${query}`, headers: { accept: 'text/html' } });
    assert.equal(page.statusCode, 200, page.body);
    const form = /<form method="post" action="\/register">([\s\S]*?)<\/form>/.exec(page.body)?.[1] ?? '';
    const input = /<input id="register-name"[^>]*>/.exec(form)?.[0] ?? '';
    assert.match(input, /name="name"/);
    assert.match(input, /type="text"/);
    assert.match(input, /autocomplete="name"/);
    assert.match(input, /maxlength="200"/);
    assert.doesNotMatch(input, /required/);
    assert.match(form, /<label for="register-name">Name \(optional\)<\/label>/);
    assert.ok(form.indexOf('id="register-email"') < form.indexOf('id="register-name"'));
    assert.ok(form.indexOf('id="register-name"') < form.indexOf('id="register-password"'));
  });

  it('the name posted with the form is the account name; left empty, the account has none', async () => {
    const named = await postForm(app, '/register', { ...authorizationFields(), email: 'named@example.com', name: 'Grace Hopper', password: 'a compiler of her own' }, BROWSER);
    assert.equal(named.statusCode, 303, named.body);
    assert.equal((await app.services.users.findByEmail('named@example.com'))?.user.name, 'Grace Hopper');

    const unnamed = await postForm(app, '/register', { ...authorizationFields(), email: 'unnamed@example.com', name: '', password: 'a compiler of her own' }, BROWSER);
    assert.equal(unnamed.statusCode, 303, unnamed.body);
    assert.equal((await app.services.users.findByEmail('unnamed@example.com'))?.user.name, null);
  });
});
