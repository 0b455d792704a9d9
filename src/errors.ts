import { ValidationError } from 'aws-cdk-lib/core/lib/errors';
import { IConstruct } from 'constructs';

/**
 * A validation error thrown the way aws-cdk-lib throws its own: attached to the construct, so
 * `Errors.isValidationError()` recognises it, the CDK CLI prints the construct tree, and
 * `constructPath` says where it happened. The message also starts with the path, because test
 * runners and plain `catch` blocks show only the message.
 *
 * Write `message` as: the property, the value given, what is allowed, and how to fix it.
 *
 * `code` is a short stable name for the kind of mistake (for example `InvalidMinimumTlsVersion`),
 * as aws-cdk-lib names its own errors.
 */
export function validationError(scope: IConstruct, code: string, message: string): Error {
  // aws-cdk-lib types the code as a literal string; ours are literals at every call site.
  return new ValidationError(code as never, `${scope.node.path}: ${message}`, scope);
}
