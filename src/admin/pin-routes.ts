// /admin/projects/:id/pins: a project's shared PINs, created (shown once), listed, revoked.
import { NotFound } from '../errors.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams, NewPinBody, PinParams } from './schemas.ts';
import { pagedAnswer, pageRequest, PagingQueryString } from './paging.ts';

export function registerPinRoutes(server: AdminServer, context: AdminContext): void {
  const { pins, projects } = context.services;

  async function existingProject(id: string): Promise<string> {
    const record = await projects.find(id);
    if (!record) throw NotFound();
    return record.project.id;
  }

  server.get('/admin/projects/:id/pins', { schema: { params: IdParams, querystring: PagingQueryString } }, async (request) => {
    const page = pageRequest(request.query);
    const projectId = await existingProject(request.params.id);
    return pagedAnswer('pins', await pins.listPage(projectId, page));
  });

  server.post('/admin/projects/:id/pins', { schema: { params: IdParams, body: NewPinBody } }, async (request, reply) => {
    const projectId = await existingProject(request.params.id);
    const created = await pins.create(projectId, request.body?.label);
    await context.recordChange(request, 'pin.created', { projectId, detail: { pin_id: created.id } });
    // The PIN itself is in this answer and nowhere else.
    return reply.code(201).header('cache-control', 'no-store').send({ id: created.id, pin: created.pin, label: created.label });
  });

  server.delete('/admin/projects/:id/pins/:pin_id', { schema: { params: PinParams } }, async (request, reply) => {
    const { id, pin_id: pinId } = request.params;
    const projectId = await existingProject(id);
    if (await pins.revoke(projectId, pinId)) await context.recordChange(request, 'pin.revoked', { projectId, detail: { pin_id: pinId } });
    return reply.code(204).send();
  });
}
