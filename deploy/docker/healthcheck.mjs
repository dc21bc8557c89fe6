// Container healthcheck without curl in the image: `node healthcheck.mjs <port> [/readyz]`.
const [port = '8080', path = '/readyz'] = process.argv.slice(2);
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
