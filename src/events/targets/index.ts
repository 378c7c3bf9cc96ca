// A target for a parsed --notify spec. Opening one never connects: the first publish does, so a
// gateway starts while a target's server is down and delivers once it is back.
import { RedisTarget } from './redis.js';
import { SqlTarget } from './sql.js';
import type { EventTarget, TargetSpec } from './target.js';
import { WebhookTarget } from './webhook.js';

export function openTarget(spec: TargetSpec): EventTarget {
  switch (spec.type) {
    case 'redis': return new RedisTarget(spec);
    case 'postgres':
    case 'mysql': return new SqlTarget({ ...spec, type: spec.type });
    case 'webhook': return new WebhookTarget(spec);
  }
}
