// Policy documents: parsed, checked and compiled once (when stored or first used), evaluated on
// every request. Checks follow IAM's: a document IAM would refuse is refused here with a message
// saying what is wrong and where.
import { CompiledPolicy } from './compiled-policy.js';
import { at, PolicyError } from './policy-error.js';
import { parseStatement } from './parse-statement.js';

export { PolicyError } from './policy-error.js';

/** 'identity': attached to a user, group or credentials; 'resource': a bucket policy (names principals). */
export type PolicyKind = 'identity' | 'resource';

export interface Policy {
  /** The document as given. */
  readonly text: string;
  readonly kind: PolicyKind;
}

/** S3's limit for a bucket policy, the largest of IAM's policy size limits. */
export const MAX_POLICY_BYTES = 20 * 1024;

const VERSIONS = new Set(['2012-10-17', '2008-10-17']);
const FIELDS = new Set(['Version', 'Id', 'Statement']);

function where(index: number, statement: unknown): string {
  const sid = typeof statement === 'object' && statement !== null ? (statement as { Sid?: unknown }).Sid : undefined;
  return typeof sid === 'string' ? `Statement[${index}] (Sid "${sid}")` : `Statement[${index}]`;
}

/**
 * Parse and validate a policy JSON document. 'identity' policies must not have
 * Principal/NotPrincipal; 'resource' (bucket) policies must have one of them in every statement.
 * Throws PolicyError.
 */
export function parsePolicy(text: string, kind: PolicyKind): Policy {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_POLICY_BYTES) throw new PolicyError(`policy is ${bytes} bytes; the limit is ${MAX_POLICY_BYTES}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PolicyError(`invalid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new PolicyError('a policy must be a JSON object');
  const d = doc as Record<string, unknown>;
  for (const field of Object.keys(d)) {
    if (!FIELDS.has(field)) throw new PolicyError(`unknown top-level field "${field}" (Version, Id, Statement)`);
  }
  if (d.Version !== undefined && (typeof d.Version !== 'string' || !VERSIONS.has(d.Version))) {
    throw new PolicyError(`Version must be "2012-10-17" or "2008-10-17", not ${JSON.stringify(d.Version)}`);
  }
  if (d.Id !== undefined && typeof d.Id !== 'string') throw new PolicyError('Id must be a string');
  if (d.Statement === undefined) throw new PolicyError('missing Statement');
  const raw = Array.isArray(d.Statement) ? d.Statement : [d.Statement];
  if (raw.length === 0) throw new PolicyError('Statement is empty');
  // Policy variables arrived with version 2012-10-17; before it (and without a Version) "${...}" is literal.
  const variables = d.Version === '2012-10-17';
  const sids = new Set<string>();
  const statements = raw.map((s, i) =>
    at(where(i, s), () => {
      const st = parseStatement(s, kind, variables);
      if (st.sid !== undefined && st.sid !== '') {
        if (sids.has(st.sid)) throw new PolicyError(`duplicate Sid "${st.sid}"`);
        sids.add(st.sid);
      }
      return st;
    }),
  );
  return new CompiledPolicy(text, kind, statements);
}
