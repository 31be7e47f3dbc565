import { EMOTIONS, argmaxEmotion, type Emotion, type Modality } from '@moodstream/events';
import type { EmotionModel } from '../emotion-model';
import { centredLogProbabilities, explainText, type WordContribution } from './integrated-gradients';

export interface PostToExplain {
  text: string;
  /** The probabilities the scorer stored for the post (with its image, if it had one); absent: text only. */
  probabilities?: readonly number[] | null;
  modality?: Modality | null;
  explicit?: number | null;
}

export interface PostExplanation {
  modelVersion: string;
  emotion: Emotion;
  words: WordContribution[];
  /**
   * The emotion's calibrated, centred log-probability (log p_k − mean_j log p_j) moves from the baseline input (words
   * that say nothing, no image) to the post in two parts: `textPart` (baseline → the post's text alone; the words'
   * contributions sum to it) and `imagePart` (text alone → text with the image, from the stored probabilities).
   */
  textPart: number;
  imagePart: number;
  /** |imagePart| / (|imagePart| + |textPart|): the image's share of the decision (0 without an image, 1 without text). */
  imageShare: number;
  completenessGap: number;
  explicit: number | null;
  textProbabilities: number[];
}

/**
 * Why a post scored as it did: per-word contributions (integrated gradients through the text branch) and the
 * image's part, measured against the stored scores without recomputing the image (the dashboard has no backbone).
 */
export async function explainPost(model: EmotionModel, post: PostToExplain, options: { steps?: number } = {}): Promise<PostExplanation> {
  const stored = post.probabilities && post.probabilities.length === EMOTIONS.length ? post.probabilities : null;
  const modality = post.modality ?? 'text';
  const emotion = stored ? argmaxEmotion([...stored]) : undefined;
  const text = await explainText(model, modality === 'image' ? '' : post.text, { ...(emotion ? { emotion } : {}), ...(options.steps ? { steps: options.steps } : {}) });
  const k = EMOTIONS.indexOf(text.emotion);
  const hasText = modality !== 'image' && text.words.length > 0;
  const textPart = hasText ? text.score - text.baselineScore : 0;
  const imagePart = stored && modality !== 'text' ? centredLogProbabilities(stored)[k]! - (hasText ? centredLogProbabilities(text.textProbabilities)[k]! : text.baselineScore + priorBiasTerm(model, k)) : 0;
  const total = Math.abs(imagePart) + Math.abs(textPart);
  return {
    modelVersion: model.version,
    emotion: text.emotion,
    words: hasText ? text.words : [],
    textPart,
    imagePart,
    imageShare: total === 0 ? 0 : Math.abs(imagePart) / total,
    completenessGap: hasText ? text.completenessGap : 0,
    explicit: post.explicit ?? null,
    textProbabilities: text.textProbabilities,
  };
}

/** The text prior bias's share of the centred calibrated score: (bias_k − mean bias) / T_text (a constant per emotion). */
function priorBiasTerm(model: EmotionModel, k: number): number {
  const bias = model.config.calibration.textLogitBias;
  const mean = bias.reduce((a, b) => a + b, 0) / bias.length;
  return (bias[k]! - mean) / model.temperatureFor(true, false);
}
