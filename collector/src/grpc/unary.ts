// One wrapper for every unary gRPC handler: parsed errors become statuses, unexpected
// errors become INTERNAL with a log line (never a crash), and each call is timed.
import {
  Metadata,
  status as GrpcStatus,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Logger } from '../log';
import type { CollectorMetrics } from '../metrics/metrics';

export function grpcError(code: GrpcStatus, message: string): ServiceError {
  const err = new Error(message) as ServiceError;
  err.code = code;
  err.details = message;
  err.metadata = new Metadata();
  return err;
}

export function isServiceError(value: unknown): value is ServiceError {
  return value instanceof Error && typeof (value as Partial<ServiceError>).code === 'number';
}

export interface HandlerContext {
  readonly log: Logger;
  readonly metrics: CollectorMetrics | undefined;
}

export type UnaryHandler<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** Marks a request whose bytes were not a valid protobuf message of the method's type. */
const MALFORMED = Symbol('malformed request');

interface Malformed {
  readonly [MALFORMED]: string;
}

function isMalformed(value: unknown): value is Malformed {
  return typeof value === 'object' && value !== null && MALFORMED in value;
}

/**
 * The same service definition, but a request that cannot be decoded becomes a marker that
 * unary() answers with INVALID_ARGUMENT (grpc-js itself would answer INTERNAL, as if the
 * collector were broken rather than the message).
 */
export function tolerantService<T extends ServiceDefinition>(definition: T): T {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition as Record<string, MethodDefinition<unknown, unknown>>)) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return method.requestDeserialize(bytes);
        } catch (err: unknown) {
          return { [MALFORMED]: `${method.path}: the request is not a valid protobuf message (${err instanceof Error ? err.message : String(err)})` };
        }
      },
    };
  }
  return out as unknown as T;
}

/** `fn` returns the response, or a ServiceError to send as the call's status. */
export function unary<Req, Res>(
  ctx: HandlerContext,
  method: string,
  fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res | ServiceError>,
): UnaryHandler<Req, Res> {
  return (call, callback) => {
    const end = ctx.metrics?.grpcDuration.startTimer({ method });
    const finish = (code: GrpcStatus): void => {
      end?.({ code: GrpcStatus[code] });
    };
    if (isMalformed(call.request)) {
      ctx.log.warn({ event: 'request-rejected', method, code: 'INVALID_ARGUMENT', reason: call.request[MALFORMED] }, 'request rejected');
      ctx.metrics?.rejected.inc({ api: 'grpc', method, code: 'INVALID_ARGUMENT' });
      finish(GrpcStatus.INVALID_ARGUMENT);
      callback(grpcError(GrpcStatus.INVALID_ARGUMENT, call.request[MALFORMED]));
      return;
    }
    fn(call.request, call).then(
      (result) => {
        if (isServiceError(result)) {
          finish(result.code);
          callback(result);
        } else {
          finish(GrpcStatus.OK);
          callback(null, result);
        }
      },
      (err: unknown) => {
        ctx.log.error({ err, method }, 'request failed');
        finish(GrpcStatus.INTERNAL);
        callback(grpcError(GrpcStatus.INTERNAL, `${method} failed inside the collector; see its log`));
      },
    );
  };
}
