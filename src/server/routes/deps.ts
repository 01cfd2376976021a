import type { LogService } from '../../backend/log-service.js';
import type { ServerLimits } from '../config.js';

/** What route modules need from the composition root. */
export interface RouteDeps {
  readonly service: LogService;
  readonly limits: ServerLimits;
  /** Region name reported in project descriptions. */
  readonly region: string;
}
