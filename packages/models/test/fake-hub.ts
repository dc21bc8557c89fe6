/**
 * A local stand-in for the Hugging Face Hub API (127.0.0.1): `GET /api/models/{repo}/revision/{rev}`
 * answers the listing (siblings with LFS size + sha256 for LFS files, plain entries for git files, the
 * resolved `sha`), `GET /{repo}/resolve/{rev}/{path}` serves bytes with Range support. The repositories
 * carry the standard pack's real file names with tiny contents. Faults: cut a file's connection once
 * half of it is stored, or corrupt one file's bytes.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import {
  GraphBuilder,
  ModelBuilder,
  STANDARD_PACK,
  TEXT_EN,
  TEXT_ZH,
  buildTinyAsrDecoder,
  buildTinyAsrEncoder,
  buildTinyAudioEmotion,
  buildTinyVision,
  tinyAsrConfig,
  tinyEmotionHead,
  tinyGenerationConfig,
  tinyTokenizerJson,
  type PullProgress,
} from '../src';
import { seededMatrix } from '../src/tiny/seeded';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

export const FILL_MASK_FIXTURE = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'fill-mask-bert');

/** The tiny encoder with every initializer moved to `encoder_model.onnx_data`, as the fp32 export is laid out. */
function withExternalData(model: onnx.ModelProto, location: string): { graph: Buffer; data: Buffer } {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    // Float weights go to the sidecar; int64 shape constants stay inline (shape inference reads them).
    if (t.dataType !== 1) continue;
    const raw = Buffer.from(t.rawData ?? new Uint8Array());
    t.rawData = new Uint8Array();
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.length) },
    ];
    chunks.push(raw);
    offset += raw.length;
  }
  return { graph: Buffer.from(onnx.ModelProto.encode(model).finish()), data: Buffer.concat(chunks) };
}

/** SigLIP text tower stand-in: `input_ids i64[B,64]` → `pooler_output f32[B,D]` (mean of embedding rows, through a dense). */
export function buildTinySiglipText(dim = 32, vocab = 400): ModelBuilder {
  const g = new GraphBuilder('tiny_siglip_text');
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const E = g.initFloat(seededMatrix(7001, vocab, dim, 1), [vocab, dim]);
  const W = g.initFloat(seededMatrix(7002, dim, dim, 0.5), [dim, dim]);
  const mean = g.op('ReduceMean', [g.op('Gather', [E, ids], { axis: 0 })], { axes: [1], keepdims: 0 });
  g.op('MatMul', [mean, W], {}, 'pooler_output');
  g.output('pooler_output', 'float32', ['batch_size', dim]);
  g.output('last_hidden_state', 'float32', ['batch_size', 'sequence_length', dim]);
  g.op('Gather', [E, ids], { axis: 0 }, 'last_hidden_state');
  return new ModelBuilder(g);
}

/** tokenizer.json of a tiny SentencePiece-Unigram vocabulary (SigLIP's tokenizer family). */
export function tinyUnigramTokenizer(words: string[]): Record<string, unknown> {
  const vocab: [string, number][] = [
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ['▁', -2],
  ];
  for (const w of words) vocab.push([`▁${w}`, -1]);
  for (const c of 'abcdefghijklmnopqrstuvwxyz') vocab.push([c, -5]);
  return {
    version: '1.0',
    added_tokens: [
      { id: 0, content: '<pad>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false },
      { id: 1, content: '</s>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false },
      { id: 2, content: '<unk>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false },
    ],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: 2, vocab, byte_fallback: false },
  };
}

export interface HubFile {
  body: Buffer;
  lfs: boolean;
}

/** repo → revision → files: the standard pack's layout, tiny contents. */
export function standardPackRepos(): Map<string, { revision: string; files: Map<string, HubFile> }> {
  const repos = new Map<string, { revision: string; files: Map<string, HubFile> }>();
  const add = (repo: string, entries: [string, Buffer, boolean?][]) => {
    const m = STANDARD_PACK.models.find((x) => x.repo === repo)!;
    repos.set(repo, { revision: m.revision, files: new Map(entries.map(([p, body, lfs]) => [p, { body, lfs: lfs ?? p.includes('.onnx') }])) });
  };
  const enc = withExternalData(buildTinyAsrEncoder().toProto(), 'encoder_model.onnx_data');
  const dec = Buffer.from(buildTinyAsrDecoder().toBytes());
  const tok = json({ model: { type: 'BPE', vocab: { '!': 0 }, merges: [] } });
  add('onnx-community/whisper-large-v3-turbo', [
    ['onnx/encoder_model.onnx', enc.graph],
    ['onnx/encoder_model.onnx_data', enc.data],
    ['onnx/decoder_model_merged.onnx', dec],
    // fp16 variants: the same tiny graphs (float32 I/O, as keep_io_types exports are).
    ['onnx/encoder_model_fp16.onnx', Buffer.from(buildTinyAsrEncoder().toBytes())],
    ['onnx/decoder_model_merged_fp16.onnx', dec],
    ['onnx/decoder_model.onnx', Buffer.from('unmerged decoder: never pulled')],
    ['config.json', json({ ...tinyAsrConfig(), 'transformers.js_config': { dtype: { encoder_model: 'fp32', decoder_model_merged: 'q4' } } })],
    ['generation_config.json', json(tinyGenerationConfig())],
    ['preprocessor_config.json', json({ feature_size: 128, sampling_rate: 16000 })],
    ['tokenizer.json', tok],
    ['tokenizer_config.json', json({})],
    ['README.md', Buffer.from('# whisper\n')],
  ]);
  const e2v = buildTinyAudioEmotion().toProto();
  for (const n of e2v.graph!.node!) n.input = n.input!.map((x) => (x === 'input' ? 'speech' : x));
  e2v.graph!.input![0]!.name = 'speech';
  const head = tinyEmotionHead();
  add('pankotaro/emotion2vec-plus-base-onnx', [
    ['emotion2vec_plus_base.onnx', Buffer.from(onnx.ModelProto.encode(e2v).finish())],
    ['emotion2vec_head.json', json({ labels: ['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'other', 'sad', 'surprised', 'unknown'], ...head })],
    ['README.md', Buffer.from('# emotion2vec+\n')],
  ]);
  const vision = Buffer.from(buildTinyVision().toBytes());
  const text = Buffer.from(buildTinySiglipText().toBytes());
  add('Xenova/siglip-base-patch16-224', [
    ['onnx/vision_model.onnx', vision],
    ['onnx/text_model.onnx', text],
    ['onnx/vision_model_fp16.onnx', vision],
    ['onnx/text_model_fp16.onnx', text],
    ['onnx/model.onnx', Buffer.from('full model: not pulled')],
    ['config.json', json({ model_type: 'siglip' })],
    ['preprocessor_config.json', json({ size: { height: 224, width: 224 } })],
    ['tokenizer.json', json(tinyUnigramTokenizer(['a', 'photo', 'of', 'happy', 'sad', 'angry', 'face']))],
    ['special_tokens_map.json', json({})],
  ]);
  const fillMask = readFileSync(path.join(FILL_MASK_FIXTURE, 'onnx', 'model.onnx'));
  const vocabTxt = readFileSync(path.join(FILL_MASK_FIXTURE, 'vocab.txt'));
  for (const [repo, spec] of [
    ['Xenova/bert-base-uncased', TEXT_EN],
    ['Xenova/bert-base-multilingual-cased', TEXT_ZH],
  ] as const) {
    add(repo, [
      ['onnx/model.onnx', fillMask],
      ...(repo === 'Xenova/bert-base-uncased' ? ([['onnx/model_fp16.onnx', fillMask]] as [string, Buffer][]) : []),
      ['onnx/model_quantized.onnx', fillMask],
      ['tokenizer.json', json(tinyTokenizerJson(spec))],
      ['vocab.txt', vocabTxt, false],
      ['config.json', json({ architectures: ['BertForMaskedLM'] })],
    ]);
  }
  return repos;
}

export interface FakeHub {
  endpoint: string;
  requests: { path: string; range?: string }[];
  repos: ReturnType<typeof standardPackRepos>;
  faults: { cutFile?: string; corruptFile?: string };
  /** onProgress hook that lets the hub cut the connection once the first half is on disk */
  progress: (dir: string, p: PullProgress) => void;
  close: () => Promise<void>;
}

export async function startFakeHub(): Promise<FakeHub> {
  const repos = standardPackRepos();
  const requests: FakeHub['requests'] = [];
  const faults: FakeHub['faults'] = {};
  let pendingCut: { file: string; at: number; cut: () => void } | undefined;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const p = decodeURIComponent(url.pathname);
    requests.push({ path: p, range: req.headers.range });
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(p);
    if (api) {
      const r = repos.get(api[1]!);
      if (!r || api[2] !== r.revision) return void res.writeHead(404).end();
      const siblings = [...r.files].map(([rfilename, f]) =>
        f.lfs ? { rfilename, size: f.body.length, lfs: { sha256: sha(f.body), size: f.body.length, pointerSize: 134 } } : { rfilename, size: f.body.length },
      );
      const commit = /^[0-9a-f]{40}$/.test(r.revision) ? r.revision : sha(Buffer.from(api[1]!)).slice(0, 40);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: api[1], sha: commit, siblings }));
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    const r = m ? repos.get(m[1]!) : undefined;
    const file = m && r && m[2] === r.revision ? r.files.get(m[3]!) : undefined;
    if (!file) return void res.writeHead(404).end();
    let data = faults.corruptFile === m![3] ? Buffer.from(file.body.map((v, i) => (i === file.body.length >> 1 ? v ^ 0xff : v))) : file.body;
    const headers: Record<string, string | number> = {};
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
      data = data.subarray(start);
      status = 206;
    }
    headers['content-length'] = data.length;
    res.writeHead(status, headers);
    if (faults.cutFile === m![3]) {
      faults.cutFile = undefined;
      // Half the body, then hold until the client has stored it (fetch drops queued chunks on error).
      const half = Math.floor(data.length / 2);
      res.write(data.subarray(0, half));
      pendingCut = { file: m![3]!, at: half, cut: () => res.socket?.destroy() };
      return;
    }
    res.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    repos,
    faults,
    progress: (_dir, p) => {
      if (pendingCut && p.file === pendingCut.file && p.state === 'downloading' && p.received >= pendingCut.at) {
        pendingCut.cut();
        pendingCut = undefined;
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
