// Static parts of the hosted pages (the console's pages are in src/console/routes.ts).
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';
import { STYLESHEET } from './render.ts';
import { Type } from 'typebox';
import { NotFound } from '../errors.ts';
import { BRAND_HEX, brandStylesheet } from './brand.ts';

/** `<rrggbb>.css`; anything else is no stylesheet of ours (404). */
const BrandStylesheetParams = Type.Object({ file: Type.String() });
const BRAND_FILE = /^([0-9a-f]{6})\.css$/;
/** A colour's stylesheet never changes: a year, immutable (docs/decisions/0084). */
const BRAND_CACHE = 'public, max-age=31536000, immutable';

export function registerPageRoutes(server: FastifyInstance, _services: Services): void {
  server.get('/assets/gatehouse.css', (_request, reply) => {
    void reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET);
  });

  server.get<{ Params: { file: string } }>('/assets/brand/:file', { schema: { params: BrandStylesheetParams } }, (request, reply) => {
    const hex = BRAND_FILE.exec(request.params.file)?.[1];
    if (hex === undefined || !BRAND_HEX.test(hex)) throw NotFound();
    void reply.type('text/css; charset=utf-8').header('cache-control', BRAND_CACHE).send(brandStylesheet(hex));
  });
}
