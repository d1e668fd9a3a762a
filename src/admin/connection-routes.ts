// /admin/connections: the upstream OpenID providers (docs/federation.md). The provider's discovery
// document is fetched when a connection is made (or its issuer changed); the client secret is in
// no answer, ever.
import { NotFound } from '../errors.ts';
import type { Connection } from '../federation/connections.ts';
import type { AdminContext, AdminServer } from './context.ts';
import { ConnectionChangesBody, IdParams, NewConnectionBody } from './schemas.ts';

export function registerConnectionRoutes(server: AdminServer, context: AdminContext): void {
  const { connections, projects } = context.services;

  async function existing(id: string): Promise<Connection> {
    const connection = await connections.find(id);
    if (!connection) throw NotFound();
    return connection;
  }

  server.post('/admin/connections', { schema: { body: NewConnectionBody } }, async (request, reply) => {
    const connection = await connections.create(request.body);
    await context.recordChange(request, 'connection.created', { detail: { connection_id: connection.id, issuer: connection.issuer } });
    // The secret went in sealed; the answer names where to register the callback instead.
    return reply.code(201).header('cache-control', 'no-store').send(connection);
  });

  server.get('/admin/connections', async () => ({ connections: await connections.list() }));

  server.get('/admin/connections/:id', { schema: { params: IdParams } }, async (request) => existing(request.params.id));

  server.patch('/admin/connections/:id', { schema: { params: IdParams, body: ConnectionChangesBody } }, async (request) => {
    await existing(request.params.id);
    const connection = await connections.update(request.params.id, request.body);
    if (!connection) throw NotFound();
    await context.recordChange(request, 'connection.updated', { detail: { connection_id: connection.id, fields: Object.keys(request.body) } });
    return connection;
  });

  server.delete('/admin/connections/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const connection = await existing(request.params.id);
    const { removed, links } = await connections.remove(connection.id);
    if (!removed) throw NotFound();
    // Projects stop offering it; people keep their accounts and their other ways in.
    for (const project of await projects.list()) {
      if (project.connections.includes(connection.id)) await projects.update(project.id, { connections: project.connections.filter((id) => id !== connection.id) });
    }
    await context.recordChange(request, 'connection.deleted', { detail: { connection_id: connection.id, links_removed: links } });
    return reply.code(204).send();
  });
}
