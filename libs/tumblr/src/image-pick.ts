export interface ImageCandidate {
  url: string;
  width: number;
  height: number;
}

/** The model sees 224×224 crops: a short side of 256 px is the smallest size that loses nothing. */
export const MIN_SHORT_SIDE = 256;

/**
 * Picks one image: the smallest size whose short side is still ≥ `minShortSide` (least bytes for the
 * same model input), else the largest available. Only http(s) URLs with positive dimensions count.
 */
export function pickImageUrl(candidates: readonly ImageCandidate[], minShortSide = MIN_SHORT_SIDE): string | null {
  const usable = candidates.filter((c) => /^https?:\/\//i.test(c.url) && c.width > 0 && c.height > 0);
  if (usable.length === 0) return null;
  const area = (c: ImageCandidate): number => c.width * c.height;
  const bigEnough = usable.filter((c) => Math.min(c.width, c.height) >= minShortSide);
  if (bigEnough.length > 0) return bigEnough.reduce((best, c) => (area(c) < area(best) ? c : best)).url;
  return usable.reduce((best, c) => (area(c) > area(best) ? c : best)).url;
}
