/**
 * Unigram + bigram presence features: the side input that lets the network match a linear
 * n-gram model on short texts while the LSTM adds word order and context.
 */
export class BagOfWords {
  readonly features: readonly string[];
  private readonly index: Map<string, number>;
  /** Bigram features by first word, then second: sparse() looks a pair up without building its string. */
  private readonly bigrams = new Map<string, Map<string, number>>();
  /** sparse()'s seen-marks, one per feature: a feature is seen in this call when its mark is the call's stamp. */
  private readonly marks: Uint32Array;
  private stamp = 0;

  constructor(features: readonly string[]) {
    this.features = features;
    this.index = new Map(features.map((f, i) => [f, i]));
    features.forEach((feature, i) => {
      // Tokens never hold a space (textTokens), so a feature "a b" can only be the bigram (a, b).
      const space = feature.indexOf(' ');
      if (space < 0) return;
      const first = feature.slice(0, space);
      let seconds = this.bigrams.get(first);
      if (seconds === undefined) this.bigrams.set(first, (seconds = new Map()));
      // The last of two equal features wins, as in `index`.
      seconds.set(feature.slice(space + 1), i);
    });
    this.marks = new Uint32Array(features.length);
  }

  get size(): number {
    return this.features.length;
  }

  /** The n-grams of a token list (unigrams, then bigrams joined by a space). */
  static ngrams(tokens: readonly string[]): string[] {
    const grams = [...tokens];
    for (let i = 0; i + 1 < tokens.length; i++) grams.push(`${tokens[i]} ${tokens[i + 1]}`);
    return grams;
  }

  /** Keeps n-grams seen in at least minCount texts, most frequent first, at most maxFeatures. */
  static fit(texts: ReadonlyArray<readonly string[]>, minCount: number, maxFeatures: number): BagOfWords {
    const df = new Map<string, number>();
    for (const tokens of texts) for (const g of new Set(BagOfWords.ngrams(tokens))) df.set(g, (df.get(g) ?? 0) + 1);
    const kept = [...df.entries()]
      .filter(([, n]) => n >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, maxFeatures)
      .map(([g]) => g);
    return new BagOfWords(kept);
  }

  /** Writes the L2-normalised presence vector of tokens into row `row` of a [rows, size] matrix. */
  fill(tokens: readonly string[], out: Float32Array, row: number): void {
    const { indices, value } = this.sparse(tokens);
    for (const i of indices) out[row * this.size + i] = value;
  }

  /**
   * The same vector sparse: the features present (each once, in the order of ngrams(): unigrams, then bigrams,
   * first occurrence) and the value every one of them has. Called once per post by the scorer: it looks bigrams up
   * by word pair and marks features seen in a typed array instead of building the n-gram strings and a Set.
   */
  sparse(tokens: readonly string[]): { indices: number[]; value: number } {
    const indices: number[] = [];
    // A new stamp per call; after 2^32 − 1 calls the marks are cleared and counting starts again.
    if (++this.stamp === 0xffffffff) {
      this.marks.fill(0);
      this.stamp = 1;
    }
    const { marks, stamp } = this;
    const hit = (i: number | undefined): void => {
      if (i !== undefined && marks[i] !== stamp) {
        marks[i] = stamp;
        indices.push(i);
      }
    };
    for (const token of tokens) hit(this.index.get(token));
    for (let k = 0; k + 1 < tokens.length; k++) hit(this.bigrams.get(tokens[k]!)?.get(tokens[k + 1]!));
    return { indices, value: indices.length === 0 ? 0 : 1 / Math.sqrt(indices.length) };
  }
}
