/** A policy document IAM would refuse. The code is the error code AWS answers such a document with. */
export class PolicyError extends Error {
  readonly code = 'MalformedPolicyDocument';

  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

/** Runs a parse step, prefixing any PolicyError it throws with where in the document it happened. */
export function at<T>(where: string, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof PolicyError) throw new PolicyError(`${where}: ${e.message}`);
    throw e;
  }
}
