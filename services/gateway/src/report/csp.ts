import { esc, type Lang } from './i18n';

/**
 * The Content-Security-Policy of the gateway's pages (report, console): nothing but the page's own
 * nonce'd style and script, data: images, and — only where the page needs them — same-origin fetches
 * and media. Sent as a header and repeated in a <meta> so an exported file keeps it.
 */
export function pageCsp(nonce: string, allow: { connect?: boolean; media?: boolean; framed?: boolean } = {}, inMeta = false): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    'img-src data:',
    `media-src ${allow.media ? "'self'" : "'none'"}`,
    `connect-src ${allow.connect ? "'self'" : "'none'"}`,
    "form-action 'none'",
    "base-uri 'none'",
    // browsers ignore (and complain about) frame-ancestors in a <meta>: it only goes in the header
    ...(allow.framed || inMeta ? [] : ["frame-ancestors 'none'"]),
  ].join('; ');
}

/**
 * The document start both pages share, up to </head>: the language, the policy repeated in a <meta>
 * (an exported file has no header), and the one stylesheet under the nonce.
 */
export function pageHead(o: { lang: Lang; nonce: string; csp: string; title: string; css: string }): string {
  return `<!doctype html>
<html lang="${o.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${esc(o.csp)}">
<title>${esc(o.title)}</title>
<style nonce="${esc(o.nonce)}">${o.css}</style>
</head>`;
}
