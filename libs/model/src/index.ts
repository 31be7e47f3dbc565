export { initBackend, currentBackend, type BackendInfo, type BackendPreference, type InitBackendOptions } from './backend';
export { ImageBackbone, BACKBONE_IDS, BACKBONE_RUNTIMES, backboneOnnxFile, type BackboneId, type BackboneLoadOptions, type BackboneRuntime, type BackboneRuntimeInfo } from './image/backbone';
export { writeNsfwModelFolder } from './image/nsfw-graph-folder';
export { preprocessImage, setDecodeThreads, DEFAULT_LIMIT_INPUT_PIXELS } from './image/preprocess';
export { EmotionModel, type LoadOptions, type PredictInput, type Prediction } from './emotion-model';
export { EmotionScorer, emotionScore, scoredPost, type EmotionScore, type EmotionScorerOptions, type ImageEmbedding, type ScoredPostExtras } from './emotion-scorer';
export { predictByLength } from './predict-by-length';
export { preprocessText, textTokens, EMOTION_HASHTAGS } from './text/preprocess';
export { tokenize } from './text/tokenize';
export { Vocabulary, PAD_ID, UNKNOWN_ID } from './text/vocabulary';
export { loadConfusion, type Confusion } from './confusion';
export { ImageDecodeError, ModelFormatError } from './errors';
export { DEFAULT_MODEL_DIR, BACKBONE_MODEL_DIR } from './paths';
// Emotion6 folder reading and its fixed held-out split, for benches that measure on the same split as `npm run eval`.
export { readImageFolder, splitImages, type ImageExample } from './train/data';
export { ModelRegistry, decidePromotion, CURRENT_FILE, type CurrentPointer, type GateMargins, type PromotionDecision, type SliceScore } from './registry/index';
export { explainPost, type PostExplanation as ModelPostExplanation, type PostToExplain } from './explain/post-explanation';
export { explainText, type TextExplanation, type WordContribution } from './explain/integrated-gradients';
export { PostGenerator, type GenerateOptions, type GeneratedPost } from './generate/post-generator';
