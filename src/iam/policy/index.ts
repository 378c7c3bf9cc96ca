// AWS IAM policy evaluation: parse a document once, then ask what it (with others) says of a request.
export { parsePolicy, PolicyError, MAX_POLICY_BYTES, type Policy, type PolicyKind } from './document.js';
export { decide, evaluatePolicies, type AccessRequest, type Decision, type Effect, type PolicySets } from './evaluate.js';
export { normalizeContextKey, type ContextValue, type RequestContext } from './context-key.js';
