// The whole flow driven by an unmodified OpenID Connect client library (openid-client) over HTTP:
// discovery, code + PKCE, ID token validation, refresh, user info and revocation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { buildApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { testEnv } from './support/app.ts';
import { freePort } from './support/server.ts';

describe('an unmodified OpenID Connect client (openid-client)', () => {
  let app: App;
  let issuer: string;
  const redirectUri = 'http://127.0.0.1:8765/callback';
  before(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    app = await buildApp({ config: loadConfig(testEnv({ GATEHOUSE_ISSUER: issuer, PORT: String(port) })) });
    await app.server.listen({ port, host: '127.0.0.1' });
    await app.services.projects.create({ id: 'certified-app', name: 'Certified App', redirect_uris: [redirectUri] });
    await app.services.users.create({ email: 'oidc@example.com', password: 'an open id connect passphrase' });
  });
  after(() => app.close());

  it('discovers, logs in with code + PKCE, validates the ID token, refreshes, reads user info and revokes', async () => {
    const config = await client.discovery(new URL(issuer), 'certified-app', undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const challenge = await client.calculatePKCECodeChallenge(verifier);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    // The browser's part: the hosted page is shown, then its password form is posted.
    const page = await fetch(authorizationUrl, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    const login = await fetch(`${issuer}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...Object.fromEntries(authorizationUrl.searchParams), email: 'oidc@example.com', password: 'an open id connect passphrase' }),
    });
    assert.equal(login.status, 200);
    const { redirect_to: redirectTo } = (await login.json()) as { redirect_to: string };

    const tokens = await client.authorizationCodeGrant(config, new URL(redirectTo), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.iss, issuer);
    assert.equal(claims.aud, 'certified-app');
    assert.equal(claims.email, 'oidc@example.com');

    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, 'oidc@example.com');

    assert.ok(tokens.refresh_token);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

    await client.tokenRevocation(config, refreshed.refresh_token!);
    await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token!), (error: Error & { error?: string; status?: number }) => {
      assert.equal(error.status, 401);
      return true;
    });
  });
});
