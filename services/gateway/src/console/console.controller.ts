import { randomBytes } from 'node:crypto';
import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth';
import { pickLanguage } from '../report/i18n';
import { consoleCsp, renderConsole } from './console-page';

/** The web console (console-page.ts). Public: it holds no data; everything it shows comes from /v1 with the person's key. */
@ApiExcludeController()
@Controller()
export class ConsoleController {
  @Public()
  @Get()
  page(@Req() req: Request, @Res() res: Response): void {
    const nonce = randomBytes(16).toString('base64');
    res
      .status(200)
      .setHeader('Content-Type', 'text/html; charset=utf-8')
      .setHeader('Content-Security-Policy', consoleCsp(nonce))
      .setHeader('X-Content-Type-Options', 'nosniff')
      .setHeader('X-Frame-Options', 'DENY')
      .setHeader('Referrer-Policy', 'no-referrer')
      .setHeader('Cache-Control', 'no-store')
      .setHeader('Vary', 'Accept-Language')
      .end(renderConsole(pickLanguage(req.headers['accept-language'], req.query.lang), nonce));
  }
}
