import { readFileSync } from 'node:fs';
import { ConfigFieldError } from './config-error.js';
import { type CollectionConfig, parseCollectionConfig } from './logtail-config.js';

/**
 * Where collection configs come from: JSON files given with `--config` (this), or the server's machine groups
 * (RemoteConfigSource in remote-config-source.ts, which the agent polls and applies live).
 */
export interface ConfigSource {
  load(): CollectionConfig[];
}

export class FileConfigSource implements ConfigSource {
  constructor(private readonly paths: readonly string[]) {}

  load(): CollectionConfig[] {
    const configs = this.paths.map((p) => {
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(p, 'utf8'));
      } catch (err) {
        throw new ConfigFieldError(p, `cannot read a JSON config: ${(err as Error).message}`);
      }
      try {
        return parseCollectionConfig(json);
      } catch (err) {
        if (err instanceof ConfigFieldError)
          throw new ConfigFieldError(`${p}: ${err.field}`, err.message.slice(err.field.length + 2));
        throw err;
      }
    });
    const names = new Set<string>();
    for (const c of configs) {
      if (names.has(c.configName)) throw new ConfigFieldError('configName', `"${c.configName}" is used by two configs`);
      names.add(c.configName);
    }
    return configs;
  }
}
