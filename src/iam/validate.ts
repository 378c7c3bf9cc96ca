// A policy document is checked once, when it is stored, with the evaluator's own parser: what the
// store accepts is exactly what the gateway can evaluate.
import { parsePolicy, PolicyError } from './policy/document.js';
import { IamError } from './records.js';

export function checkPolicyText(document: string, kind: 'identity' | 'resource' = 'identity'): void {
  try {
    parsePolicy(document, kind);
  } catch (err) {
    if (err instanceof PolicyError) throw new IamError('MalformedPolicyDocument', err.message);
    throw err;
  }
}
