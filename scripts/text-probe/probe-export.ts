/**
 * A text-probe run (scripts/text-probe/probe.py `export`) mapped onto buildNetwork's layers: the run's text tower
 * (LSTM or BiLSTM, n-gram dense), fusion and logits, the shipped model's image branch and heads, and the run's tuned
 * word vectors. Used by import-run.ts; the file format is written by probe.py's `export`.
 */
import * as tf from '@tensorflow/tfjs';
import { EmotionModel, ModelFormatError, Vocabulary } from '@moodstream/model';
// File-private to libs/model (not in its index): the network builder and merge-members' row zeroing, imported as they are.
import { buildNetwork } from '../../libs/model/src/network';
import { readExportFile } from '../probe-export-file';
import { withoutImageRows } from '../../libs/model/src/train/merge-members';

export const EXPORT_MAGIC = 'MSPROBE1';
export const EXPORT_FORMAT = 'moodstream-text-probe-export/1';

export interface ProbeSettings {
  rnn: 'lstm' | 'bilstm';
  units: number;
  recurrentActivation: 'sigmoid' | 'tfjs-hard-sigmoid';
  bowUnits: number;
  fusionUnits: number;
  textDropout: number;
  bowDropout: number;
  seed: number;
}

export interface ProbeExportHeader {
  format: string;
  run: string;
  /** The model whose vocab.bin / bow.json the run's token ids and n-gram indices index (export-tokens.ts). */
  tokensModel: string;
  settings: ProbeSettings;
  /** The run's effective class weights: what the text-prior correction undoes. */
  classWeights: number[];
  probeCalibration?: unknown;
  probeDevCalibrated?: unknown;
  tensors: Array<{ name: string; shape: number[]; offset: number }>;
}

export interface ProbeExport {
  header: ProbeExportHeader;
  /** A tensor by name, checked against the expected shape. */
  tensor(name: string, shape: readonly number[]): Float32Array;
  has(name: string): boolean;
}

/** Parses probe.py's export file (the frame: ../probe-export-file.ts). */
export function readProbeExport(buf: Buffer): ProbeExport {
  const file = readExportFile<ProbeExportHeader>(buf, { magic: EXPORT_MAGIC, format: EXPORT_FORMAT, tool: 'text-probe' });
  return { header: file.header, has: file.has, tensor: (name, shape) => file.tensor(name, shape) };
}

/** The network settings of a model folder's config.json. */
type FolderNetworkConfig = EmotionModel['config']['network'];

export interface ImportedNetwork {
  config: FolderNetworkConfig;
  network: tf.LayersModel;
  /** The run's tuned word vectors, float32 (vocab.bin stores them as int8 per row). */
  vocab: Vocabulary;
  /** Weight tensors set from the run and copied from the shipped model. */
  fromRun: number;
  fromShipped: number;
}

/**
 * The network with the run's text path and the shipped model's image branch and heads. The fusion's image-unit and
 * hasImage rows are zeroed as merge-members does for a text-only member: the run never saw an image, so an
 * image+text post is scored from its text by the fusion (plus the shipped image skip head); image-only posts go
 * through the shipped image-only read-out exactly as before.
 */
export function importProbeNetwork(shipped: EmotionModel, exp: ProbeExport, o: { allowSigmoid?: boolean } = {}): ImportedNetwork {
  const s = exp.header.settings;
  const base = shipped.config.network;
  if (s.recurrentActivation !== 'tfjs-hard-sigmoid' && !o.allowSigmoid) {
    throw new ModelFormatError(`run ${exp.header.run} trained its LSTM gates with ${s.recurrentActivation}; tfjs and the ONNX graph compute hardSigmoid clip(0.2x + 0.5, 0, 1): retrain with --recurrent-activation tfjs-hard-sigmoid`);
  }
  if (exp.header.tokensModel !== shipped.version) {
    throw new ModelFormatError(`run ${exp.header.run} was trained on the token ids of ${exp.header.tokensModel}, not of ${shipped.version}: its word and n-gram indices would not match`);
  }
  if ((base.members ?? 1) !== 1) throw new ModelFormatError(`${shipped.version} has ${base.members} members: import into a single-member model`);
  if (base.bowSize <= 0) throw new ModelFormatError(`${shipped.version} has no n-gram branch; the probe's network has one`);
  for (const [key, run, ship] of [
    ['bowUnits', s.bowUnits, base.bowUnits],
    ['fusionUnits', s.fusionUnits, base.fusionUnits],
  ] as const) {
    if (run !== ship) throw new ModelFormatError(`run ${exp.header.run} has ${key} ${run}, ${shipped.version} ${ship}: the fusion input would not line up`);
  }
  const config: FolderNetworkConfig = {
    ...base,
    lstmUnits: s.units,
    bidirectional: s.rnn === 'bilstm',
    // Training-time settings of the text tower: the run's, so the config says how these weights were trained.
    textDropout: s.textDropout,
    bowDropout: s.bowDropout,
    seed: s.seed,
  };
  delete config.members;
  const H = s.units;
  const E = base.embeddingDim;
  const textWidth = H * (config.bidirectional ? 2 : 1) + base.bowUnits;
  const network = buildNetwork(config);
  const set = new Map<string, tf.Tensor[]>();
  const lstm = (prefix: string) => [
    tf.tensor2d(exp.tensor(`${prefix}/kernel`, [E, 4 * H]), [E, 4 * H]),
    tf.tensor2d(exp.tensor(`${prefix}/recurrent_kernel`, [H, 4 * H]), [H, 4 * H]),
    tf.tensor1d(exp.tensor(`${prefix}/bias`, [4 * H])),
  ];
  // tfjs's Bidirectional holds the forward layer's weights, then the backward layer's; Keras's LSTM and tfjs's share
  // the layout [input, 4H] / [H, 4H] / [4H] and the gate order i, f, c, o.
  if (config.bidirectional) set.set('text_bilstm', [...lstm('text_bilstm/forward'), ...lstm('text_bilstm/backward')]);
  else set.set('text_lstm', lstm('text_lstm'));
  set.set('text_bow_dense', [tf.tensor2d(exp.tensor('text_bow_dense/kernel', [base.bowSize, base.bowUnits]), [base.bowSize, base.bowUnits]), tf.tensor1d(exp.tensor('text_bow_dense/bias', [base.bowUnits]))]);

  // fusion_dense's input is [text | image units | hasText | hasImage]; the probe's is [text | hasText].
  const F = base.fusionUnits;
  const runKernel = tf.tensor2d(exp.tensor('fusion_dense/text_kernel', [textWidth + 1, F]), [textWidth + 1, F]);
  const initial = network.getLayer('fusion_dense').getWeights()[0]!;
  const fusionKernel = tf.tidy(() =>
    withoutImageRows(
      tf.concat([runKernel.slice([0, 0], [textWidth, F]), initial.slice([textWidth, 0], [base.imageUnits, F]), runKernel.slice([textWidth, 0], [1, F]), initial.slice([textWidth + base.imageUnits + 1, 0], [1, F])]),
      config,
    ),
  );
  runKernel.dispose();
  set.set('fusion_dense', [fusionKernel, tf.tensor1d(exp.tensor('fusion_dense/bias', [F]))]);
  set.set('logits', [tf.tensor2d(exp.tensor('logits/kernel', [F, base.classes]), [F, base.classes]), tf.tensor1d(exp.tensor('logits/bias', [base.classes]))]);

  let fromRun = 0;
  let fromShipped = 0;
  for (const layer of network.layers) {
    if (layer.weights.length === 0) continue;
    const run = set.get(layer.name);
    if (run) {
      layer.setWeights(run);
      fromRun += run.length;
      continue;
    }
    // The image branch and heads: the shipped model's, unchanged.
    const old = shipped.network.layers.find((l) => l.name === layer.name);
    if (!old) throw new ModelFormatError(`layer ${layer.name} is neither in the run nor in ${shipped.version}`);
    layer.setWeights(old.getWeights());
    fromShipped += old.weights.length;
  }
  tf.dispose([...set.values()].flat());
  if (fromRun + fromShipped !== network.weights.length) throw new ModelFormatError(`import set ${fromRun + fromShipped} of the network's ${network.weights.length} weight tensors`);
  const vectors = Float32Array.from(exp.tensor('vocab/vectors', [shipped.vocab.size, shipped.vocab.dim]));
  return { config, network, vocab: new Vocabulary(shipped.vocab.words, shipped.vocab.dim, vectors), fromRun, fromShipped };
}

/** The vocabulary as vocab.bin will hold it (int8 per row with a float scale): what the saved folder computes with. */
export function asStored(vocab: Vocabulary): Vocabulary {
  return Vocabulary.decode(vocab.encode());
}
