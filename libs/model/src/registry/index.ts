export { ModelRegistry, CurrentPointerSchema, CURRENT_FILE, HISTORY_FILE, type CurrentPointer } from './model-registry';
export { decidePromotion, type GateMargins, type PromotionDecision, type SliceScore, type SliceVerdict } from './promotion-gate';
