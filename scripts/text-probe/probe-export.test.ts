/**
 * The importer's weight mapping (probe-export.ts): a tiny random weight set shaped as probe.py's Keras model exports
 * it, imported into a tiny model, must give the logits the Keras text path computes — written out here by hand
 * (pre-padded ids, id 0 masked, LSTM gates hardSigmoid clip(0.2x + 0.5, 0, 1) in Keras's order i, f, c, o, the
 * backward direction over the reversed unmasked words, n-gram Dense on the L2-normalised presence vector, fusion over
 * [text | hasText]). Run: node --import tsx --test scripts/text-probe/probe-export.test.ts
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { EMOTIONS } from '@moodstream/events';
import { EmotionModel, initBackend, textTokens, type Vocabulary } from '@moodstream/model';
import { rowFromText } from '../../libs/model/src/encode';
import { makeRng, gaussian } from '../../libs/model/src/train/rng';
import { tinyRandomModel } from '../../libs/model/test/helpers';
import { EXPORT_FORMAT, EXPORT_MAGIC, asStored, importProbeNetwork, readProbeExport, type ProbeSettings } from './probe-export';

const K = EMOTIONS.length;
const TEXTS = ['i love this storm', 'so scared', 'wow what a day', 'hate hate this i love so happy day', 'i zzz love'];

before(async () => {
  await initBackend({ prefer: 'cpu' });
});

type Weights = Map<string, { shape: number[]; data: Float32Array }>;

/** probe.py export's file layout, for a weight set made here. */
function writeExport(run: string, tokensModel: string, settings: ProbeSettings, weights: Weights): Buffer {
  let offset = 0;
  const tensors = [...weights].map(([name, t]) => {
    const e = { name, shape: t.shape, offset };
    offset += t.data.length;
    return e;
  });
  const header = Buffer.from(JSON.stringify({ format: EXPORT_FORMAT, run, tokensModel, settings, classWeights: new Array<number>(K).fill(1), tensors }), 'utf8');
  const data = Buffer.alloc(offset * 4);
  let at = 0;
  for (const t of weights.values()) for (const v of t.data) data.writeFloatLE(v, 4 * at++);
  const head = Buffer.alloc(12);
  head.write(EXPORT_MAGIC, 0, 'latin1');
  head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, header, data]);
}

function randomWeights(seed: number, shapes: Record<string, number[]>): Weights {
  const rng = makeRng(seed);
  const out: Weights = new Map();
  for (const [name, shape] of Object.entries(shapes)) out.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.6 * gaussian(rng)) });
  return out;
}

const hardSigmoid = (x: number) => Math.min(1, Math.max(0, 0.2 * x + 0.5));

/** Keras LSTM (return_sequences false) over the word vectors xs, gates i, f, c, o. */
function lstm(xs: Float32Array[], kernel: Float32Array, recurrent: Float32Array, bias: Float32Array, H: number): number[] {
  let h = new Array<number>(H).fill(0);
  let c = new Array<number>(H).fill(0);
  for (const x of xs) {
    const z = Array.from(bias);
    for (let g = 0; g < 4 * H; g++) {
      for (let e = 0; e < x.length; e++) z[g]! += x[e]! * kernel[e * 4 * H + g]!;
      for (let u = 0; u < H; u++) z[g]! += h[u]! * recurrent[u * 4 * H + g]!;
    }
    const i = z.slice(0, H).map(hardSigmoid);
    const f = z.slice(H, 2 * H).map(hardSigmoid);
    const cc = z.slice(2 * H, 3 * H).map(Math.tanh);
    const o = z.slice(3 * H).map(hardSigmoid);
    c = c.map((v, u) => f[u]! * v + i[u]! * cc[u]!);
    h = c.map((v, u) => o[u]! * Math.tanh(v));
  }
  return h;
}

function dense(x: readonly number[], kernel: Float32Array, bias: Float32Array, relu: boolean): number[] {
  const out = Array.from(bias);
  for (let j = 0; j < out.length; j++) for (let i = 0; i < x.length; i++) out[j]! += x[i]! * kernel[i * out.length + j]!;
  return relu ? out.map((v) => Math.max(0, v)) : out;
}

/** The probe's Keras text path on one text (token ids truncated to maxLen; unknown words are id 1, not masked). */
function kerasLogits(text: string, model: EmotionModel, w: Weights, H: number, bidirectional: boolean, vocab: Vocabulary): number[] {
  const tokens = textTokens(text);
  const ids = tokens.slice(0, model.config.preprocessing.maxLen).map((t) => vocab.id(t)).filter((id) => id !== 0);
  const xs = ids.map((id) => vocab.vectors.subarray(id * vocab.dim, (id + 1) * vocab.dim));
  const get = (n: string) => w.get(n)!.data;
  const seq = bidirectional
    ? [...lstm(xs, get('text_bilstm/forward/kernel'), get('text_bilstm/forward/recurrent_kernel'), get('text_bilstm/forward/bias'), H), ...lstm([...xs].reverse(), get('text_bilstm/backward/kernel'), get('text_bilstm/backward/recurrent_kernel'), get('text_bilstm/backward/bias'), H)]
    : lstm(xs, get('text_lstm/kernel'), get('text_lstm/recurrent_kernel'), get('text_lstm/bias'), H);
  const present = model.bow!.sparse(tokens).indices;
  const bowUnits = model.config.network.bowUnits;
  const bow = Array.from(get('text_bow_dense/bias'));
  for (const f of present) for (let j = 0; j < bowUnits; j++) bow[j]! += get('text_bow_dense/kernel')[f * bowUnits + j]! / Math.sqrt(present.length);
  const hidden = dense([...seq, ...bow.map((v) => Math.max(0, v)), 1], get('fusion_dense/text_kernel'), get('fusion_dense/bias'), true);
  return dense(hidden, get('logits/kernel'), get('logits/bias'), false);
}

for (const bidirectional of [true, false]) {
  test(`an exported ${bidirectional ? 'BiLSTM' : 'LSTM'} run imports to the logits of its Keras text path; image-only posts score as the shipped model`, async () => {
    const shipped = await tinyRandomModel(1, { imageSkipHead: true, imageOnlyReadout: true });
    const n = shipped.config.network;
    const H = 3;
    const E = n.embeddingDim;
    const textWidth = H * (bidirectional ? 2 : 1) + n.bowUnits;
    const lstmShapes = (p: string) => ({ [`${p}/kernel`]: [E, 4 * H], [`${p}/recurrent_kernel`]: [H, 4 * H], [`${p}/bias`]: [4 * H] });
    const w = randomWeights(bidirectional ? 11 : 12, {
      'vocab/vectors': [shipped.vocab.size, E],
      ...(bidirectional ? { ...lstmShapes('text_bilstm/forward'), ...lstmShapes('text_bilstm/backward') } : lstmShapes('text_lstm')),
      'text_bow_dense/kernel': [n.bowSize, n.bowUnits],
      'text_bow_dense/bias': [n.bowUnits],
      'fusion_dense/text_kernel': [textWidth + 1, n.fusionUnits],
      'fusion_dense/bias': [n.fusionUnits],
      'logits/kernel': [n.fusionUnits, K],
      'logits/bias': [K],
    });
    w.get('vocab/vectors')!.data.fill(0, 0, E); // the pad row
    const settings: ProbeSettings = { rnn: bidirectional ? 'bilstm' : 'lstm', units: H, recurrentActivation: 'tfjs-hard-sigmoid', bowUnits: n.bowUnits, fusionUnits: n.fusionUnits, textDropout: 0.3, bowDropout: 0.5, seed: 5 };
    const exp = readProbeExport(writeExport('tiny', shipped.version, settings, w));
    const imported = importProbeNetwork(shipped, exp);
    assert.equal(imported.config.bidirectional, bidirectional);
    assert.equal(imported.config.lstmUnits, H);
    const model = new EmotionModel({ ...shipped.config, network: imported.config }, imported.network, imported.vocab, shipped.bow);

    const { logits } = await model.logits(TEXTS.map((t) => rowFromText(t, null)));
    TEXTS.forEach((t, r) => {
      const expected = kerasLogits(t, model, w, H, bidirectional, imported.vocab);
      for (let c = 0; c < K; c++) assert.ok(Math.abs(logits[r * K + c]! - expected[c]!) < 1e-5, `${JSON.stringify(t)} class ${c}: tfjs ${logits[r * K + c]} vs Keras path ${expected[c]}`);
    });

    // The run never saw an image: an image+text post scores as its text plus the shipped skip head, and image-only
    // posts go through the shipped read-out unchanged.
    const image = Float32Array.from({ length: n.imageFeatureDim }, (_, i) => ((i * 7) % 10) / 5);
    const other = image.map((v) => 2 - v);
    const both = (await model.logits([rowFromText(TEXTS[0]!, image), rowFromText(TEXTS[0]!, other)])).logits;
    const skip = (f: Float32Array) => dense(Array.from(f), shipped.network.getLayer('image_skip_logits').getWeights()[0]!.dataSync() as Float32Array, shipped.network.getLayer('image_skip_logits').getWeights()[1]!.dataSync() as Float32Array, false);
    const [s1, s2] = [skip(image), skip(other)];
    for (let c = 0; c < K; c++) assert.ok(Math.abs(both[c]! - s1[c]! - (both[K + c]! - s2[c]!)) < 1e-4, `image+text class ${c}: the fusion must ignore the image`);
    const imageOnly = [rowFromText('', image), rowFromText('', other)];
    assert.deepEqual(Array.from((await model.logits(imageOnly)).logits), Array.from((await shipped.logits(imageOnly)).logits));

    // vocab.bin's int8 rows: the stored vocabulary moves the vectors by at most half a step of each row's scale.
    const stored = asStored(imported.vocab);
    for (let r = 0; r < stored.size; r++) {
      const row = imported.vocab.vectors.subarray(r * E, (r + 1) * E);
      const scale = Math.max(...Array.from(row, Math.abs)) / 127;
      row.forEach((v, e) => assert.ok(Math.abs(stored.vectors[r * E + e]! - v) <= scale / 2 + 1e-7, `row ${r}`));
    }
    model.dispose();
    shipped.dispose();
  });
}

test('runs that would not compute what tfjs computes, or index another word list, are refused', async () => {
  const shipped = await tinyRandomModel(2);
  const n = shipped.config.network;
  const settings: ProbeSettings = { rnn: 'lstm', units: 2, recurrentActivation: 'sigmoid', bowUnits: n.bowUnits, fusionUnits: n.fusionUnits, textDropout: 0.3, bowDropout: 0.5, seed: 5 };
  const none: Weights = new Map();
  assert.throws(() => importProbeNetwork(shipped, readProbeExport(writeExport('s', shipped.version, settings, none))), /sigmoid.*tfjs-hard-sigmoid/);
  assert.throws(() => importProbeNetwork(shipped, readProbeExport(writeExport('s', 'other-model', { ...settings, recurrentActivation: 'tfjs-hard-sigmoid' }, none))), /token ids of other-model/);
  assert.throws(() => importProbeNetwork(shipped, readProbeExport(writeExport('s', shipped.version, { ...settings, recurrentActivation: 'tfjs-hard-sigmoid', fusionUnits: 3 }, none))), /fusionUnits 3/);
  assert.throws(() => readProbeExport(Buffer.from('not an export at all')), /MSPROBE1/);
  shipped.dispose();
});
