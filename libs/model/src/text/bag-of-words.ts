/**
 * Unigram + bigram presence features: the side input that lets the network match a linear
 * n-gram model on short texts while the LSTM adds word order and context.
 */
export class BagOfWords {
  readonly features: readonly string[];
  private readonly index: Map<string, number>;

  constructor(features: readonly string[]) {
    this.features = features;
    this.index = new Map(features.map((f, i) => [f, i]));
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

  /** The same vector sparse: the features present (each once) and the value every one of them has. */
  sparse(tokens: readonly string[]): { indices: number[]; value: number } {
    const hits = new Set<number>();
    for (const g of BagOfWords.ngrams(tokens)) {
      const i = this.index.get(g);
      if (i !== undefined) hits.add(i);
    }
    return { indices: [...hits], value: hits.size === 0 ? 0 : 1 / Math.sqrt(hits.size) };
  }
}
