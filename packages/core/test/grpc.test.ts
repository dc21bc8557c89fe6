import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ORCHESTRATOR_SERVICE,
  checkHealth,
  grpc,
  grpcClient,
  problemFromGrpc,
  problemToGrpc,
  startGrpcServer,
  unary,
  type GrpcServerHandle,
} from '../src/grpc';
import { ProblemError } from '../src/problems';

type Handler = (req: { owner: string; id: string }) => { code?: grpc.status; details?: string; videoJson?: string };

/** A real Orchestrator gRPC server whose Get answers with whatever `handler` says; counts calls. */
async function server(handler: Handler, address = '127.0.0.1:0'): Promise<GrpcServerHandle & { calls: () => number }> {
  let calls = 0;
  const h = await startGrpcServer(address, [
    {
      name: ORCHESTRATOR_SERVICE,
      impl: {
        Get: (call: grpc.ServerUnaryCall<{ owner: string; id: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          calls++;
          const r = handler(call.request);
          if (r.code !== undefined) cb({ code: r.code, details: r.details ?? '' });
          else cb(null, { videoJson: r.videoJson ?? '', created: false });
        },
      },
    },
  ]);
  return Object.assign(h, { calls: () => calls });
}

test('health Check: NOT_SERVING until flipped, SERVING after, per service; unknown service is NOT_FOUND', async (t) => {
  const s = await server(() => ({ videoJson: '{}' }));
  t.after(() => s.close());
  const addr = `127.0.0.1:${s.port}`;
  assert.equal(await checkHealth(addr), 'NOT_SERVING');
  assert.equal(await checkHealth(addr, ORCHESTRATOR_SERVICE), 'NOT_SERVING');
  s.setServing(true);
  assert.equal(await checkHealth(addr), 'SERVING');
  assert.equal(await checkHealth(addr, ORCHESTRATOR_SERVICE), 'SERVING');
  await assert.rejects(checkHealth(addr, 'omniaffect.v1.Nope'), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  s.setServing(false);
  assert.equal(await checkHealth(addr), 'NOT_SERVING');
});

test('unary: a server-side UNAVAILABLE is retried when idempotent, not otherwise', async (t) => {
  let failures = 2;
  const s = await server(() => (failures-- > 0 ? { code: grpc.status.UNAVAILABLE, details: 'busy' } : { videoJson: 'ok' }));
  t.after(() => s.close());
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`);
  t.after(() => client.close());

  const res = await unary<object, { videoJson: string }>(client, 'Get', { owner: 'o', id: 'x' }, { deadlineMs: 5000, idempotent: true });
  assert.equal(res.videoJson, 'ok');
  assert.equal(s.calls(), 3);

  failures = 1;
  await assert.rejects(
    unary(client, 'Get', { owner: 'o', id: 'x' }, { deadlineMs: 5000, idempotent: false }),
    (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE,
  );
  assert.equal(s.calls(), 4, 'a non-idempotent call is tried once');
});

test('unary: non-transport errors are never retried, even when idempotent', async (t) => {
  const s = await server(() => ({ code: grpc.status.INVALID_ARGUMENT, details: 'bad' }));
  t.after(() => s.close());
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`);
  t.after(() => client.close());
  await assert.rejects(unary(client, 'Get', {}, { deadlineMs: 5000, idempotent: true }), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT);
  assert.equal(s.calls(), 1);
  await assert.rejects(unary(client, 'NoSuchMethod', {}, { deadlineMs: 1000, idempotent: true }), /no gRPC method NoSuchMethod/);
});

test('unary against a stopped server: fails at once when not idempotent, succeeds once it is back when idempotent', async (t) => {
  const first = await server(() => ({ videoJson: 'first' }));
  const port = first.port;
  await first.close();
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${port}`);
  t.after(() => client.close());

  await assert.rejects(unary(client, 'Get', {}, { deadlineMs: 2000, idempotent: false }), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);

  let second: Awaited<ReturnType<typeof server>> | undefined;
  const restart = new Promise<void>((resolve) =>
    setTimeout(() => void server(() => ({ videoJson: 'second' }), `127.0.0.1:${port}`).then((s) => ((second = s), resolve())), 300),
  );
  t.after(async () => {
    await restart;
    await second?.close();
  });
  const res = await unary<object, { videoJson: string }>(client, 'Get', {}, { deadlineMs: 2000, idempotent: true, retries: 6 });
  assert.equal(res.videoJson, 'second');
  assert.equal(second?.calls(), 1);
});

test('problems cross gRPC with their slug and detail', async (t) => {
  const s = await server(() => problemToGrpc(new ProblemError('not-found', 'no video x')) as ReturnType<Handler>);
  t.after(() => s.close());
  const client = grpcClient(ORCHESTRATOR_SERVICE, `127.0.0.1:${s.port}`);
  t.after(() => client.close());
  const err = await unary(client, 'Get', {}, { deadlineMs: 2000, idempotent: false }).catch((e: unknown) => e);
  assert.equal((err as grpc.ServiceError).code, grpc.status.NOT_FOUND);
  const p = problemFromGrpc(err);
  assert.equal(p.slug, 'not-found');
  assert.equal(p.detail, 'no video x');
  const internal = problemToGrpc(new Error('kaput'));
  assert.equal(internal.code, grpc.status.INTERNAL);
  assert.equal(problemFromGrpc({ code: grpc.status.UNAVAILABLE, details: 'conn refused' }).slug, 'unavailable');
});
