import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import {
  PROBLEMS,
  ProblemError,
  SizeLimitError,
  problemDocument,
  problemFromGrpc,
  type Logger,
  type ProblemDocument,
  type ProblemSlug,
} from '@omniaffect/core';
import type { Request, Response } from 'express';

const SLUG_FOR_STATUS: Record<number, ProblemSlug> = {
  400: 'validation',
  401: 'unauthorized',
  404: 'not-found',
  409: 'conflict',
  410: 'gone',
  413: 'payload-too-large',
  415: 'unsupported-content-type',
  422: 'validation',
  429: 'rate-limited',
  503: 'unavailable',
};

/** Errors from body-parser and other http-errors users carry a status and say whether the message is safe. */
interface HttpishError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message?: string;
}

const isGrpcError = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number' && 'metadata' in err;

/** Seconds a client should wait before retrying after a 503; outages of a dependency are short or long, never instant. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/**
 * What a client may see of a problem. Below 500 the document is the client's own doing and is shown
 * as is. A 5xx detail is written by whatever failed (a raw PostgreSQL or gRPC message, a path, an
 * address), so it is replaced: 503 says to retry, other 5xx name the request id that the log line
 * with the real detail carries. 501 not-configured is the gateway's own operator guidance and stays.
 */
export function publicProblem(doc: ProblemDocument, reqId: string): ProblemDocument {
  if (doc.status < 500 || doc.status === 501) return doc;
  const base = { type: doc.type, title: doc.title, status: doc.status, instance: doc.instance, requestId: reqId };
  if (doc.status === 503) return { ...base, detail: 'a service behind the gateway is unavailable; retry later' };
  return { ...base, detail: `an internal error occurred; quote request id ${reqId} when reporting it` };
}

const requestIdOf = (req: Request): string => String(req.headers['x-request-id'] ?? '');

/**
 * Every error leaves the gateway as RFC 9457 problem+json with `instance` = the request path: our own
 * ProblemErrors, gRPC errors from the orchestrator, Nest HttpExceptions (unknown routes included) and
 * body-parser errors (malformed or oversized JSON). 5xx answers go through publicProblem; their real
 * detail only reaches the log.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const reqId = requestIdOf(req);
    const doc = this.toProblem(err, req.originalUrl?.split('?')[0] ?? req.url);
    if (doc.status === 503) {
      // An orchestrator outage is operational, not a bug: one line without a stack per request is enough.
      this.log.warn({ reqId, path: req.path, detail: doc.detail }, 'dependency unavailable');
    } else if (doc.status >= 500) {
      this.log.error({ err, reqId, path: req.path, detail: doc.detail }, 'request failed');
    }
    if (res.headersSent) {
      // An event stream or a half-sent body cannot change its status any more; just end it.
      res.end();
      return;
    }
    if (doc.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="omniaffect"');
    if (doc.status === 503 && !res.getHeader('Retry-After')) res.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_S));
    res.status(doc.status).setHeader('Content-Type', 'application/problem+json; charset=utf-8');
    res.end(JSON.stringify(publicProblem(doc, reqId)));
  }

  toProblem(err: unknown, instance: string): ProblemDocument {
    if (err instanceof ProblemError) return err.toDocument(instance);
    if (err instanceof SizeLimitError) return problemDocument('payload-too-large', `the upload is ${err.message}`, instance);
    if (isGrpcError(err)) return problemFromGrpc(err).toDocument(instance);
    if (err instanceof HttpException) return fromStatus(err.getStatus(), httpExceptionDetail(err), instance);
    const e = err as HttpishError;
    const status = e?.status ?? e?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return fromStatus(status, e.expose !== false ? e.message : undefined, instance);
    }
    return problemDocument('internal', (err as Error)?.message ?? 'an unexpected error occurred', instance);
  }
}

function fromStatus(status: number, detail: string | undefined, instance: string): ProblemDocument {
  const slug = SLUG_FOR_STATUS[status];
  if (slug && PROBLEMS[slug].status === status) return problemDocument(slug, detail, instance);
  if (slug) return { ...problemDocument(slug, detail, instance), status };
  // RFC 9457 §4.2.1: about:blank means "nothing more than the HTTP status".
  return { type: 'about:blank', title: statusTitle(status), status, detail, instance };
}

function httpExceptionDetail(err: HttpException): string {
  const body = err.getResponse();
  if (typeof body === 'string') return body;
  const message = (body as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : err.message;
}

function statusTitle(status: number): string {
  const titles: Record<number, string> = { 405: 'Method not allowed', 406: 'Not acceptable', 429: 'Too many requests' };
  return titles[status] ?? (status >= 500 ? 'Server error' : 'Request error');
}
