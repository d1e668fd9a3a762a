// A single-page app of its own origin, a public client of Gatehouse, with nothing but the browser:
// discovery and the JWKS fetched cross-origin, /authorize with PKCE (S256) and state, then back on
// this page the code exchanged at /token, /userinfo with the Bearer token, and a refresh, all by
// fetch (CORS). What happened is written to #result as JSON for the test to read.
/* global btoa, crypto, document, fetch, location, sessionStorage, TextEncoder, URL, URLSearchParams */

const FLOW = 'gatehouse-spa-flow';

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function json(response) {
  const body = await response.json();
  if (!response.ok) throw new Error(`${response.url} answered ${response.status} ${JSON.stringify(body)}`);
  return body;
}

function show(result) {
  document.getElementById('result').textContent = JSON.stringify(result);
}

const redirectUri = `${location.origin}${location.pathname}`;

async function start() {
  const config = await json(await fetch('/config.json'));
  const discovery = await json(await fetch(`${config.issuer}/.well-known/openid-configuration`));
  const jwks = await json(await fetch(discovery.jwks_uri));
  const verifier = random();
  const state = random();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(FLOW, JSON.stringify({ clientId: config.client_id, discovery, jwksKids: jwks.keys.map((key) => key.kid), verifier, state }));
  const authorize = new URL(discovery.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.client_id,
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  }).toString();
  location.assign(authorize.href);
}

async function finish(query) {
  const flow = JSON.parse(sessionStorage.getItem(FLOW));
  sessionStorage.removeItem(FLOW);
  if (query.get('state') !== flow.state) throw new Error('the state came back changed');
  if (query.get('iss') !== flow.discovery.issuer) throw new Error('the iss came back changed');
  const { token_endpoint: tokenEndpoint, userinfo_endpoint: userinfoEndpoint } = flow.discovery;
  const tokens = await json(
    await fetch(tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: flow.clientId,
        code: query.get('code'),
        code_verifier: flow.verifier,
        redirect_uri: redirectUri,
      }),
    }),
  );
  const userinfo = await json(await fetch(userinfoEndpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } }));
  const refreshed = await json(
    await fetch(tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: flow.clientId, refresh_token: tokens.refresh_token }),
    }),
  );
  const again = await json(await fetch(userinfoEndpoint, { headers: { authorization: `Bearer ${refreshed.access_token}` } }));
  show({
    issuer: flow.discovery.issuer,
    jwksKids: flow.jwksKids,
    idToken: tokens.id_token,
    scope: tokens.scope,
    userinfo,
    refreshed: refreshed.refresh_token !== tokens.refresh_token && typeof refreshed.access_token === 'string',
    userinfoAfterRefresh: again,
  });
}

const query = new URLSearchParams(location.search);
(query.has('code') ? finish(query) : start()).catch((error) => show({ error: String(error) }));
