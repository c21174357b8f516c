// graphql-edge's errors as one typed value. Every GraphQL error carries `extensions.code`
// (BAD_USER_INPUT, UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, RATE_LIMITED, UNAVAILABLE,
// INTERNAL, OUT_OF_RANGE) and `extensions.requestId`; core-svc's errors add `reason` and, for
// invalid input, `fieldViolations`. A request that never got an answer is NETWORK.
import type { CombinedError } from '@urql/core';

export type ApiErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'OUT_OF_RANGE'
  | 'NETWORK';

export interface FieldViolation {
  field: string;
  description: string;
}

export interface ApiErrorDetails {
  reason?: string;
  requestId?: string;
  fieldViolations?: FieldViolation[];
  retryAfterSeconds?: number;
  /** HTTP status of the answer, when there was one. */
  status?: number;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: ApiErrorDetails = {},
  ) {
    super(message);
  }

  get reason(): string | undefined {
    return this.details.reason;
  }

  /** A version mismatch: someone else changed the record since it was read. */
  get isStale(): boolean {
    return this.code === 'CONFLICT' && this.reason === 'VERSION_MISMATCH';
  }

  /** The message of the violation of `field`, if the server named that field. */
  fieldError(field: string): string | undefined {
    return this.details.fieldViolations?.find((v) => v.field === field || v.field.endsWith(`.${field}`))?.description;
  }

  /**
   * A passing failure (network, server restarting, rate limit, a server bug): data already on
   * screen stays there. Any other code says the data is gone for good (not found, signed out).
   */
  get isPassing(): boolean {
    return PASSING.has(this.code);
  }

  /** A sentence to show a person. */
  get userMessage(): string {
    switch (this.code) {
      case 'NETWORK':
        return 'Cannot reach the server. Check your connection and try again.';
      case 'UNAVAILABLE':
        return 'The service is unavailable right now; try again in a moment. A change you just made may or may not have been saved.';
      case 'INTERNAL':
        return `Something went wrong on the server${this.details.requestId ? ` (request ${this.details.requestId})` : ''}.`;
      case 'RATE_LIMITED': {
        const s = this.details.retryAfterSeconds;
        if (!s) return 'Too many attempts: try again later.';
        return `Too many attempts: try again in ${s < 90 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`}.`;
      }
      default:
        return this.message;
    }
  }
}

const PASSING = new Set<ApiErrorCode>(['NETWORK', 'UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL']);

const CODES = new Set<string>([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
  'OUT_OF_RANGE',
]);

interface GraphQLErrorLike {
  message: string;
  extensions?: Record<string, unknown>;
}

/** One GraphQL error object (as in a response's `errors`) as an ApiError. */
export function fromGraphQLError(e: GraphQLErrorLike, status?: number): ApiError {
  const ext = e.extensions ?? {};
  const code = typeof ext.code === 'string' && CODES.has(ext.code) ? (ext.code as ApiErrorCode) : 'INTERNAL';
  const violations = Array.isArray(ext.fieldViolations)
    ? (ext.fieldViolations as Array<Record<string, unknown>>).map((v) => ({
        field: String(v.field ?? ''),
        description: String(v.description ?? ''),
      }))
    : undefined;
  return new ApiError(code, e.message, {
    reason: typeof ext.reason === 'string' ? ext.reason : undefined,
    requestId: typeof ext.requestId === 'string' ? ext.requestId : undefined,
    fieldViolations: violations,
    retryAfterSeconds: typeof ext.retryAfterSeconds === 'number' ? ext.retryAfterSeconds : undefined,
    status,
  });
}

/** urql's CombinedError (or anything thrown) as an ApiError. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const combined = error as Partial<CombinedError> | undefined;
  const status = (combined?.response as { status?: number } | undefined)?.status;
  if (combined && Array.isArray(combined.graphQLErrors) && combined.graphQLErrors.length > 0) {
    return fromGraphQLError(combined.graphQLErrors[0] as GraphQLErrorLike, status);
  }
  if (combined && combined.networkError) {
    if (status === 429) return new ApiError('RATE_LIMITED', 'rate limited', { status });
    if (status !== undefined && status >= 500) return new ApiError('UNAVAILABLE', `HTTP ${status}`, { status });
    return new ApiError('NETWORK', combined.networkError.message || 'network error', { status });
  }
  return new ApiError('INTERNAL', error instanceof Error ? error.message : String(error));
}
