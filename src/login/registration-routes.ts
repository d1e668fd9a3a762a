import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.ts';

export function registerRegistrationRoutes(_server: FastifyInstance, _services: Services): void {}
