// /admin/projects: the OAuth clients, their settings and their client secrets.
import { NotFound } from '../errors.ts';
import { checkNewProject, checkProjectChanges, requireOrdinaryProject } from '../projects/project-rules.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { IdParams, NewProjectBody, ProjectChangesBody, ProjectListQuery } from './schemas.ts';
import { pagedAnswer, pageRequest } from './paging.ts';

export function registerProjectRoutes(server: AdminServer, context: AdminContext): void {
  const { projects } = context.services;

  server.post('/admin/projects', { schema: { body: NewProjectBody } }, async (request, reply) => {
    // federation.md: a project offers only connections that exist
    await context.services.connections.checkOffered(request.body.connections);
    const created = await projects.create(checkNewProject(request.body));
    const { project, clientSecret } = created;
    await context.recordChange(request, 'admin.project.created', { projectId: project.id, detail: { confidential: project.confidential } });
    // The secret is shown this once; only its hash is kept.
    return reply.code(201).send({ ...project, ...(clientSecret !== undefined ? { client_secret: clientSecret } : {}) });
  });

  // ?search=: only the projects whose id or name contains it (the console's search).
  server.get('/admin/projects', { schema: { querystring: ProjectListQuery } }, async (request) =>
    pagedAnswer('projects', await projects.listPage(pageRequest(request.query), request.query.search)),
  );

  server.get('/admin/projects/:id', { schema: { params: IdParams } }, async (request) => {
    const record = await projects.find(request.params.id);
    if (!record) throw NotFound();
    return record.project;
  });

  server.patch('/admin/projects/:id', { schema: { params: IdParams, body: ProjectChangesBody } }, async (request) => {
    const changes = request.body;
    await context.services.connections.checkOffered(changes.connections);
    const project = await projects.update(request.params.id, await checkProjectChanges(projects, request.params.id, changes));
    if (!project) throw NotFound();
    await context.recordChange(request, 'admin.project.updated', { projectId: project.id, detail: { fields: Object.keys(changes) } });
    return project;
  });

  server.delete('/admin/projects/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    requireOrdinaryProject(id);
    if (!(await projects.delete(id))) throw NotFound();
    await context.recordChange(request, 'admin.project.deleted', { projectId: id });
    return reply.code(204).send();
  });

  server.post('/admin/projects/:id/secret', { schema: { params: IdParams } }, async (request) => {
    const { id } = request.params;
    requireOrdinaryProject(id);
    const clientSecret = await projects.rotateSecret(id);
    const record = await projects.find(id);
    if (!record) throw NotFound();
    await context.recordChange(request, 'admin.project.secret_rotated', { projectId: id });
    return { ...record.project, client_secret: clientSecret };
  });
}
