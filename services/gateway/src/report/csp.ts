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
