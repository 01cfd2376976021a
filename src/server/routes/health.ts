import type { Router } from '../router.js';

/** `GET /health`: unauthenticated liveness for load balancers; answers once the server is serving. */
export function registerHealthRoute(router: Router): void {
  router.add({
    method: 'GET',
    pattern: '/health',
    maxBodyBytes: 0,
    auth: false,
    handle: () => ({ json: { status: 'ok' } }),
  });
}
