// The admin API (SPEC.md "Admin API"), one file per resource.
// Every route here sits behind requireAdmin(), checked before the body is even read, so a
// caller without a valid admin token learns nothing about what a valid request looks like.
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { Services } from '../services.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { AdminContext } from './context.ts';
import { requireAdmin } from './guard.ts';
import { registerKeyRoutes } from './key-routes.ts';
import { registerMemberRoutes } from './member-routes.ts';
import { registerPinRoutes } from './pin-routes.ts';
import { registerProjectRoutes } from './project-routes.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerUserRoutes } from './user-routes.ts';
import { registerBrowserSessionRoutes } from './browser-session-routes.ts';
import { registerWebhookRoutes } from './webhook-routes.ts';
import { registerConnectionRoutes } from './connection-routes.ts';
import { registerConsoleGapRoutes } from './console-gap-routes.ts';

function isFormPost(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

export function registerAdminRoutes(server: FastifyInstance, services: Services): void {
  const context = new AdminContext(services);

  // An encapsulated plugin: the guard hook and the strict validator apply to these routes only.
  void server.register(async (scope) => {
    // TypeBox checks bodies as they are (no type coercion): "1" is not a number, "yes" is not
    // a boolean. Form posts are converted below, because every value arrives as text there.
    scope.setValidatorCompiler(TypeBoxValidatorCompiler);

    // Many HTTP clients send "Content-Type: application/json" on every request, DELETE and
    // POST .../secret included. An empty JSON body is therefore read as no body: a route that
    // needs one still refuses it in validation. Anything else goes to Fastify's own parser
    // (which also refuses __proto__ and constructor keys).
    const parseJson = scope.getDefaultJsonParser('error', 'error');
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = body.toString();
      if (text.length === 0) done(null, undefined);
      else parseJson(request, text, done);
    });

    scope.addHook('onRequest', async (request, reply) => {
      context.admitted(request, await requireAdmin(services, request, reply));
    });

    // SPEC: POST endpoints take form bodies with the same field names. Text becomes the
    // boolean, integer, null or one-item list the route's schema asks for.
    scope.addHook('preValidation', async (request) => {
      const schema = request.routeOptions.schema?.body as TSchema | undefined;
      if (schema && isFormPost(request) && request.body !== null && typeof request.body === 'object') {
        request.body = Value.Convert(schema, { ...request.body });
      }
    });

    const admin = scope.withTypeProvider<TypeBoxTypeProvider>();
    registerProjectRoutes(admin, context);
    registerMemberRoutes(admin, context);
    registerPinRoutes(admin, context);
    registerUserRoutes(admin, context);
    registerSessionRoutes(admin, context);
    registerAuditRoutes(admin, context);
    registerBrowserSessionRoutes(admin, context);
    registerKeyRoutes(admin, context);
    registerWebhookRoutes(admin, context);
    registerConnectionRoutes(admin, context);
    registerConsoleGapRoutes(admin, context);
  });
}
