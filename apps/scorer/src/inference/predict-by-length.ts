// Length-sorted passes belong to the one scoring path in libs/model (EmotionScorer); re-exported for the scorer's tests.
export { predictByLength } from '@moodstream/model';
