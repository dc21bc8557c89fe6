#!/usr/bin/python3
"""A small BERT fill-mask ONNX graph, built with python3-onnx + numpy, for the `models adapt text` tests.

It is deliberately built here, independently of the project's TypeScript graph builder, and laid out
the way a torch.onnx / Optimum `--task fill-mask` export of BertForMaskedLM is (opset 14):

  * embeddings: word (Gather) + position (Gather over a Slice of a constant position_ids table) +
    token type (Gather), then LayerNorm written out as ReduceMean/Sub/Pow/Sqrt/Div/Mul/Add, as
    torch decomposes it below opset 17;
  * an extended attention mask (1 - mask) * -3.4e38 added to the scores, heads split with
    Shape/Gather/Concat/Reshape (dynamic batch and sequence), Softmax, exact GELU through Erf;
  * the MLM head: dense -> GELU -> LayerNorm -> decoder MatMul whose weight is TIED to the word
    embeddings through a Transpose node (as in the real model) -> + bias -> `logits`.

Node names follow torch's module scopes (/bert/encoder/layer.0/..., /cls/predictions/...), but the
adapter must not rely on them; the generator records the name of the encoder's last hidden state
in meta.json so the test can check the adapter found the right tensor.

Run from the repository root with Debian's python3 (python3-onnx 1.12, numpy):

    /usr/bin/python3 scripts/reference/make_fill_mask_bert.py

Writes packages/models/test/fixtures/fill-mask-bert/{onnx/model.onnx, vocab.txt, meta.json}
(about 100 KB in all). Seeded, so reruns are byte-identical.
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join('packages', 'models', 'test', 'fixtures', 'fill-mask-bert')
HIDDEN = 32
HEADS = 2
HEAD_DIM = HIDDEN // HEADS
INTER = 64
LAYERS = 2
MAX_POS = 64
WORDS = ['the', 'a', 'is', 'good', 'bad', 'happy', 'sad', 'movie', 'day', 'i', 'love', 'hate', '.', ',', '!', '##s', '##ly']
VOCAB = ['[PAD]'] + [f'[unused{i}]' for i in range(99)] + ['[UNK]', '[CLS]', '[SEP]', '[MASK]'] + WORDS
V = len(VOCAB)

rng = np.random.default_rng(20240611)
nodes = []
inits = []
counter = [0]


def w(name, *shape, scale=0.2):
    inits.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
    return name


def const(name, value, dtype=np.float32):
    inits.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))
    return name


def op(op_type, inputs, scope, out=None, **attrs):
    counter[0] += 1
    name = f'{scope}/{op_type}' + ('' if counter[0] == 0 else f'_{counter[0]}')
    out = out or f'{name}_output_0'
    nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
    return out


def layer_norm(x, scope, gamma, beta):
    # torch.onnx opset 14 layer_norm: mean/var over the last axis, eps 1e-12 as in BERT's config.
    mean = op('ReduceMean', [x], scope, axes=[-1], keepdims=1)
    xc = op('Sub', [x, mean], scope)
    var = op('ReduceMean', [op('Pow', [xc, const(f'{scope}/two', 2.0)], scope)], scope, axes=[-1], keepdims=1)
    den = op('Sqrt', [op('Add', [var, const(f'{scope}/eps', 1e-12)], scope)], scope)
    return op('Add', [op('Mul', [op('Div', [xc, den], scope), gamma], scope), beta], scope)


def gelu(x, scope):
    e = op('Erf', [op('Div', [x, const(f'{scope}/sqrt2', np.sqrt(2.0))], scope)], scope)
    return op('Mul', [op('Mul', [x, op('Add', [e, const(f'{scope}/one', 1.0)], scope)], scope), const(f'{scope}/half', 0.5)], scope)


def linear(x, scope, n_in, n_out):
    return op('Add', [const(f'{scope}.bias', rng.standard_normal(n_out) * 0.05), op('MatMul', [x, w(f'{scope}.weight', n_in, n_out)], scope)], scope)


def ln_params(scope):
    return const(f'{scope}.weight', 1 + rng.standard_normal(HIDDEN) * 0.05), const(f'{scope}.bias', rng.standard_normal(HIDDEN) * 0.05)


# --- embeddings --------------------------------------------------------------------------------
word = w('bert.embeddings.word_embeddings.weight', V, HIDDEN, scale=0.5)
pos_table = w('bert.embeddings.position_embeddings.weight', MAX_POS, HIDDEN, scale=0.1)
tt_table = w('bert.embeddings.token_type_embeddings.weight', 2, HIDDEN, scale=0.1)
position_ids = const('bert.embeddings.position_ids', np.arange(MAX_POS)[None, :], np.int64)
s = '/bert/embeddings'
seq = op('Gather', [op('Shape', ['input_ids'], s), const(f'{s}/one_i', 1, np.int64)], s, axis=0)
pos_slice = op('Slice', [position_ids, const(f'{s}/zero1', [0], np.int64), op('Unsqueeze', [seq, const(f'{s}/ax0', [0], np.int64)], s), const(f'{s}/ax1', [1], np.int64)], s)
emb = op('Add', [op('Gather', [word, 'input_ids'], s, axis=0), op('Gather', [tt_table, 'token_type_ids'], s, axis=0)], s)
emb = op('Add', [emb, op('Gather', [pos_table, pos_slice], s, axis=0)], s)
h = layer_norm(emb, f'{s}/LayerNorm', *ln_params('bert.embeddings.LayerNorm'))

# --- extended attention mask -------------------------------------------------------------------
s = '/bert'
m = op('Cast', [op('Unsqueeze', [op('Unsqueeze', ['attention_mask', const(f'{s}/ax1', [1], np.int64)], s), const(f'{s}/ax2', [2], np.int64)], s)], s, to=TensorProto.FLOAT)
ext = op('Mul', [op('Sub', [const(f'{s}/one', 1.0), m], s), const(f'{s}/min', np.finfo(np.float32).min)], s)


def split_heads(x, scope):
    shape = op('Shape', [x], scope)
    b = op('Unsqueeze', [op('Gather', [shape, const(f'{scope}/i0', 0, np.int64)], scope, axis=0), const(f'{scope}/u0', [0], np.int64)], scope)
    t = op('Unsqueeze', [op('Gather', [shape, const(f'{scope}/i1', 1, np.int64)], scope, axis=0), const(f'{scope}/u1', [0], np.int64)], scope)
    target = op('Concat', [b, t, const(f'{scope}/hd', [HEADS, HEAD_DIM], np.int64)], scope, axis=0)
    return op('Transpose', [op('Reshape', [x, target], scope)], scope, perm=[0, 2, 1, 3])


for L in range(LAYERS):
    s = f'/bert/encoder/layer.{L}/attention/self'
    p = f'bert.encoder.layer.{L}'
    q = split_heads(linear(h, f'{p}.attention.self.query', HIDDEN, HIDDEN), f'{s}/q')
    k = split_heads(linear(h, f'{p}.attention.self.key', HIDDEN, HIDDEN), f'{s}/k')
    v = split_heads(linear(h, f'{p}.attention.self.value', HIDDEN, HIDDEN), f'{s}/v')
    scores = op('Div', [op('MatMul', [q, op('Transpose', [k], s, perm=[0, 1, 3, 2])], s), const(f'{s}/scale', np.sqrt(HEAD_DIM))], s)
    probs = op('Softmax', [op('Add', [scores, ext], s)], s, axis=-1)
    ctx = op('Transpose', [op('MatMul', [probs, v], s)], s, perm=[0, 2, 1, 3])
    shape = op('Shape', [h], s)
    ctx = op('Reshape', [ctx, op('Concat', [op('Slice', [shape, const(f'{s}/s0', [0], np.int64), const(f'{s}/s2', [2], np.int64)], s), const(f'{s}/hid', [HIDDEN], np.int64)], s, axis=0)], s)
    so = f'/bert/encoder/layer.{L}/attention/output'
    a = layer_norm(op('Add', [linear(ctx, f'{p}.attention.output.dense', HIDDEN, HIDDEN), h], so), f'{so}/LayerNorm', *ln_params(f'{p}.attention.output.LayerNorm'))
    si = f'/bert/encoder/layer.{L}/intermediate'
    inter = gelu(linear(a, f'{p}.intermediate.dense', HIDDEN, INTER), f'{si}/intermediate_act_fn')
    sout = f'/bert/encoder/layer.{L}/output'
    h = layer_norm(op('Add', [linear(inter, f'{p}.output.dense', INTER, HIDDEN), a], sout), f'{sout}/LayerNorm', *ln_params(f'{p}.output.LayerNorm'))

encoder_output = h

# --- MLM head (BertOnlyMLMHead) ----------------------------------------------------------------
s = '/cls/predictions/transform'
t = gelu(linear(h, 'cls.predictions.transform.dense', HIDDEN, HIDDEN), f'{s}/transform_act_fn')
t = layer_norm(t, f'{s}/LayerNorm', *ln_params('cls.predictions.transform.LayerNorm'))
s = '/cls/predictions/decoder'
tied = op('Transpose', [word], s, perm=[1, 0])
op('Add', [op('MatMul', [t, tied], s), const('cls.predictions.bias', rng.standard_normal(V) * 0.05)], s, out='logits')

dims = ['batch_size', 'sequence_length']
graph = helper.make_graph(
    nodes,
    'torch_jit',
    [helper.make_tensor_value_info(n, TensorProto.INT64, dims) for n in ['input_ids', 'attention_mask', 'token_type_ids']],
    [helper.make_tensor_value_info('logits', TensorProto.FLOAT, dims + [V])],
    initializer=inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 14)], producer_name='pytorch', producer_version='2.1.0')
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)

os.makedirs(os.path.join(OUT, 'onnx'), exist_ok=True)
onnx.save(model, os.path.join(OUT, 'onnx', 'model.onnx'))
with open(os.path.join(OUT, 'vocab.txt'), 'w', encoding='utf-8') as f:
    f.write('\n'.join(VOCAB) + '\n')
with open(os.path.join(OUT, 'meta.json'), 'w', encoding='utf-8') as f:
    json.dump(
        {
            'generator': 'scripts/reference/make_fill_mask_bert.py',
            'opset': 14,
            'hidden': HIDDEN,
            'layers': LAYERS,
            'vocab': V,
            'encoderOutput': encoder_output,
            'headNodes': sum(1 for n in nodes if n.name.startswith(('/cls/', 'cls.'))),
            'headInitializers': ['cls.predictions.transform.dense.weight', 'cls.predictions.transform.dense.bias', 'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.transform.LayerNorm.bias', 'cls.predictions.bias'],
            'tiedInitializer': word,
        },
        f,
        indent=2,
    )
    f.write('\n')
print(f'wrote {OUT}: {len(nodes)} nodes, {len(inits)} initializers, encoder output {encoder_output}')
