import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { registeredRoutes } from '../src/openapi/routes.ts';
import { ROUTE_DOCS } from '../src/openapi/route-docs.ts';
import { createTestApp, type TestApp } from './support/app.ts';

/** Fastify's /a/:id becomes OpenAPI's /a/{id}. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

describe('OpenAPI document', () => {
  let app: TestApp;
  let doc: { paths: Record<string, Record<string, { responses: Record<string, unknown>; summary?: string }>> };
  before(async () => {
    app = await createTestApp();
    const res = await app.server.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    doc = res.json();
  });
  after(() => app.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
    assert.equal(validator.version, '3.1');
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  it('holds every registered route with a summary and its error responses', () => {
    const routes = registeredRoutes(app.server);
    assert.ok(routes.length > 40, `only ${routes.length} routes seen`);
    for (const { method, url } of routes) {
      const operation = doc.paths[openApiPath(url)]?.[method.toLowerCase()];
      assert.ok(operation, `${method} ${url} is missing from the document`);
      assert.ok(ROUTE_DOCS[`${method} ${url}`], `${method} ${url} has no entry in ROUTE_DOCS`);
      assert.ok(operation.summary, `${method} ${url} has no summary`);
      const errorStatuses = Object.keys(operation.responses).filter((s) => Number(s) >= 400);
      assert.ok(errorStatuses.length > 0, `${method} ${url} documents no error response`);
    }
  });

  it('documents the reference messages of /token under their statuses', () => {
    type ErrorResponse = { content: { 'application/json': { schema: { properties: { error: { enum: string[] } } } } } };
    const responses = doc.paths['/token']?.post?.responses as Record<string, ErrorResponse>;
    const messages = (status: string) => responses[status]?.content['application/json'].schema.properties.error.enum ?? [];
    assert.ok(messages('400').includes('PKCE verification failed'));
    assert.ok(messages('401').includes('Invalid refresh token'));
    assert.ok(messages('403').includes('PIN revoked'));
    assert.ok(messages('429').includes('Rate limited'));
  });

  it('GET /docs is a readable page of the same routes', async () => {
    const res = await app.server.inject({ method: 'GET', url: '/docs' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /POST \/token/);
    assert.match(res.body, /PATCH \/admin\/projects\/\{id\}/);
    assert.doesNotMatch(res.body, /<script/);
  });

  it('documentation does not change validation: odd /token bodies still get the SPEC messages', async () => {
    const res = await app.server.inject({ method: 'POST', url: '/token', payload: { grant_type: 'authorization_code' } });
    assert.deepEqual(res.json(), { error: 'Missing client_id' });
  });
});
