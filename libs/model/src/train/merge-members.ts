import * as tf from '@tensorflow/tfjs';
import { EmotionModel } from '../emotion-model';
import { ModelFormatError } from '../errors';
import { IMAGE_SKIP_LAYER, MEMBER_LAYERS, buildNetwork, memberSuffix, type NetworkConfig } from '../network';

export interface MergeMember {
  model: EmotionModel;
  /**
   * The member never trained on an image (`npm run train -- --images none`): its image dense layer and the fusion
   * weights of the image units and the hasImage flag are the random initial ones. They are zeroed in the merged
   * network, so the member scores an image+text post from its text exactly as a text-only post.
   */
  textOnly: boolean;
}

export interface MergeOptions {
  version: string;
  /**
   * Divide each member's logits layer by its own text temperature (config.calibration.temperature) before the
   * mean, so a member with sharper logits does not outvote the others; the merged model is recalibrated after.
   */
  foldTemperatures: boolean;
}

/** Network settings that must agree between members (seed and image heads may differ; members is the result's). */
const SHARED_NETWORK_KEYS = ['embeddingDim', 'lstmUnits', 'bidirectional', 'bowSize', 'bowUnits', 'imageFeatureDim', 'imageUnits', 'fusionUnits', 'dropout', 'bowDropout', 'textDropout', 'classes'] as const;

/**
 * One model whose network holds the given models as members (`NetworkConfig.members`): each member's towers keep
 * their trained weights, the logits are averaged in the graph. The members must share the word list and vectors,
 * the n-gram list, preprocessing, backbone and tower shapes (one word lookup, one n-gram featurisation, one ONNX
 * graph). The image heads (skip head, image-only read-out) and the calibration are the first member's: image-only
 * posts score exactly as in the first model; refit the text (and image+text) calibration on dev afterwards.
 */
export function mergeMembers(members: readonly MergeMember[], o: MergeOptions): EmotionModel {
  if (members.length < 2) throw new ModelFormatError(`merging needs at least two models, got ${members.length}`);
  const first = members[0]!.model;
  for (const { model } of members) {
    if ((model.config.network.members ?? 1) !== 1) throw new ModelFormatError(`${model.version} already has ${model.config.network.members} members: merge its single-member parts instead`);
  }
  for (const { model } of members.slice(1)) {
    const differs = whyNotMergeable(first, model);
    if (differs) throw new ModelFormatError(`cannot merge ${model.version} with ${first.version}: ${differs}`);
  }
  const c = first.config.network;
  const N = members.length;
  const merged = { ...c, members: N };
  const network = buildNetwork(merged);
  let copied = 0;
  members.forEach(({ model, textOnly }, m) => {
    const sfx = memberSuffix(m, N);
    for (const base of MEMBER_LAYERS) {
      const from = model.network.layers.find((l) => l.name === base);
      if (from === undefined) continue;
      const weights = from.getWeights();
      const edited = tf.tidy(() => {
        let w = weights;
        if (base === 'logits' && o.foldTemperatures) w = w.map((t) => t.div(model.config.calibration.temperature));
        if (textOnly && base === 'image_dense') w = w.map((t) => tf.zerosLike(t));
        if (textOnly && base === 'fusion_dense') w = [withoutImageRows(w[0]!, c), w[1]!];
        return w;
      });
      network.getLayer(`${base}${sfx}`).setWeights(edited);
      // getWeights gives the source's live tensors: dispose only the edited copies.
      tf.dispose(edited.filter((t) => !weights.includes(t)));
      copied += weights.length;
    }
  });
  // The image heads sit on the combined logits: the first member's, so its image-only behaviour is kept exactly.
  if (c.imageSkipHead || c.imageOnlyReadout) {
    const skip = first.network.getLayer(IMAGE_SKIP_LAYER).getWeights();
    network.getLayer(IMAGE_SKIP_LAYER).setWeights(skip);
    copied += skip.length;
  }
  const expected = network.weights.length;
  if (copied !== expected) throw new ModelFormatError(`merge copied ${copied} of the merged network's ${expected} weight tensors`);
  return new EmotionModel({ ...first.config, version: o.version, network: merged }, network, first.vocab, first.bow);
}

/**
 * fusion_dense's kernel [text | image units | hasText | hasImage, fusionUnits] with the image units' rows and the
 * hasImage row zeroed (see buildNetwork's fusion_concat): the member's fusion then ignores the image entirely.
 */
export function withoutImageRows(kernel: tf.Tensor, c: NetworkConfig): tf.Tensor {
  const textWidth = c.lstmUnits * (c.bidirectional ? 2 : 1) + (c.bowSize > 0 ? c.bowUnits : 0);
  const rows = kernel.shape[0]!;
  if (rows !== textWidth + c.imageUnits + 2) throw new ModelFormatError(`fusion_dense has ${rows} input rows, expected ${textWidth + c.imageUnits + 2}`);
  const keep = new Float32Array(rows).fill(1);
  keep.fill(0, textWidth, textWidth + c.imageUnits);
  keep[rows - 1] = 0;
  return kernel.mul(tf.tensor2d(keep, [rows, 1]));
}

/** Why two single-member models cannot be members of one network, or null when they can. */
export function whyNotMergeable(a: EmotionModel, b: EmotionModel): string | null {
  const differing = SHARED_NETWORK_KEYS.filter((k) => a.config.network[k] !== b.config.network[k]);
  if (differing.length > 0) return `their networks differ in ${differing.map((k) => `${k} (${String(a.config.network[k])} vs ${String(b.config.network[k])})`).join(', ')}`;
  if (JSON.stringify(a.config.preprocessing) !== JSON.stringify(b.config.preprocessing)) return 'their preprocessing differs';
  if (a.backboneId !== b.backboneId || a.featureDim !== b.featureDim) return `their image backbones differ (${a.backboneId} vs ${b.backboneId})`;
  if (a.vocab.size !== b.vocab.size || a.vocab.dim !== b.vocab.dim || a.vocab.words.some((w, i) => b.vocab.words[i] !== w)) return `their vocabularies differ (${a.vocab.size} vs ${b.vocab.size} words)`;
  if (a.vocab.vectors.some((v, i) => b.vocab.vectors[i] !== v)) return 'their word vectors differ';
  const fa = a.bow?.features ?? [];
  const fb = b.bow?.features ?? [];
  if (fa.length !== fb.length || fa.some((f, i) => fb[i] !== f)) return `their n-gram lists differ (${fa.length} vs ${fb.length} n-grams${fa.length === fb.length ? `, first difference at ${fa.findIndex((f, i) => fb[i] !== f)}` : ''})`;
  return null;
}
