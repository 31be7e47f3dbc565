/** Test helpers shared by the scorer's unit tests, the cross-app integration test in /test and bench/scorer.ts. */
export { readScored, type ScoredReader, type ScoredReaderOptions } from './support/scored-reader';
export { scorerTopicsOnKafka, type ScorerTopics } from './support/kafka-topics';
export { createTestScorer, testScorerConfig, waitFor, type TestScorer } from './support/test-scorer';
