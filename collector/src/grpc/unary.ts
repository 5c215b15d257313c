// One wrapper for every unary gRPC handler: parsed errors become statuses, unexpected
// errors become INTERNAL with a log line (never a crash), and each call is timed.
import { Metadata, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
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

/** `fn` returns the response, or a ServiceError to send as the call's status. */
export function unary<Req, Res>(ctx: HandlerContext, method: string, fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res | ServiceError>): UnaryHandler<Req, Res> {
  return (call, callback) => {
    const end = ctx.metrics?.grpcDuration.startTimer({ method });
    const finish = (code: GrpcStatus): void => {
      end?.({ code: GrpcStatus[code] });
    };
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
