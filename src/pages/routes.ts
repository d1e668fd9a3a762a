// Static parts of the hosted pages, and the console's own callback page.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import { renderMessagePage, STYLESHEET } from './render.ts';
import { field, queryFields } from '../http/fields.ts';

export function registerPageRoutes(server: FastifyInstance, _services: Services): void {
  server.get('/assets/gatehouse.css', (_request, reply) => {
    void reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET);
  });

  // The console project's redirect URI: shows the code so an operator can exchange it by hand.
  server.get('/console/callback', (request, reply) => {
    const code = field(queryFields(request), 'code') ?? '';
    void reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderMessagePage('Signed in to the Gatehouse console', ['Exchange this code at POST /token with your code_verifier:', code]));
  });
}
