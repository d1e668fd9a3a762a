import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';

export function registerPinRoutes(_server: FastifyInstance, _services: Services): void {}
