import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';

export function registerAdminRoutes(_server: FastifyInstance, _services: Services): void {}
