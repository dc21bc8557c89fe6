import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, SetMetadata, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ProblemError, apiKeyOwner } from '@omniaffect/core';
import type { Request } from 'express';
import { GATEWAY, type GatewayContext } from './context';

const PUBLIC_ROUTE = 'omniaffect:public';

/** Marks a handler or controller as reachable without an API key (health, metrics, API description). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

const SIGNED_LINK_ROUTE = 'omniaffect:signed-link';

/**
 * Marks a handler that a signed link (`?exp=&sig=`, see media-link.ts) may reach instead of an API key.
 * The guard only lets such a request through; the handler checks the link, for which it needs the route's
 * video id. A request that carries an Authorization header is judged by its key, whatever its query says.
 */
export const KeyOrSignedLink = () => SetMetadata(SIGNED_LINK_ROUTE, true);

export type AuthedRequest = Request & { owner?: string };

/**
 * Keys are compared as SHA-256 digests with timingSafeEqual, against every configured key, so neither
 * the length of a key nor the position of a mismatch shows in the response time.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(sha256);
  }

  /** The owner id for an `Authorization` header value, or null when it carries no valid key. */
  ownerOf(authorization: string | undefined): string | null {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    if (!m) return null;
    const presented = sha256(m[1]);
    let matched = false;
    for (const d of this.digests) matched = timingSafeEqual(d, presented) || matched;
    return matched ? apiKeyOwner(m[1]) : null;
  }
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(GATEWAY) private readonly ctx: GatewayContext,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    if (header === undefined && req.query.sig !== undefined) {
      const signedLinkRoute = this.reflector.getAllAndOverride<boolean>(SIGNED_LINK_ROUTE, [context.getHandler(), context.getClass()]);
      if (signedLinkRoute) return true; // without req.owner: the handler must verify the link
    }
    const owner = this.ctx.apiKeys.ownerOf(header);
    if (!owner) {
      throw new ProblemError('unauthorized', header ? 'the API key is not valid' : 'send Authorization: Bearer <api key>');
    }
    req.owner = owner;
    return true;
  }
}

/** The API key's owner id, set by AuthGuard; every orchestrator call is scoped by it. */
export const Owner = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const owner = ctx.switchToHttp().getRequest<AuthedRequest>().owner;
  if (!owner) throw new ProblemError('unauthorized', 'no API key on this request');
  return owner;
});
