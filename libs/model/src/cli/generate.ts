/**
 * Writes a post from an emotion and, optionally, an image (study 6.4):
 * `npm run generate -- --emotion happy [--image FILE] [--temperature T] [--seed N] [--count N] [--generator DIR]`.
 * The output is machine-written text; it says so.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EMOTIONS, type Emotion } from '@moodstream/events';
import { ConfigError, parseCommandLineOrExit } from '@moodstream/core';
import { initBackend } from '../backend';
import { ImageBackbone, type BackboneId } from '../image/backbone';
import { preprocessImage } from '../image/preprocess';
import { DEFAULT_MODEL_DIR } from '../paths';
import { PostGenerator } from '../generate/post-generator';

const { values } = parseCommandLineOrExit({
  command: 'npm run generate',
  summary: 'write a post from an emotion and, optionally, an image (study 6.4); the output says it is machine-written',
  usage: '--emotion E [--image FILE] [options]',
  options: {
    emotion: { type: 'string', valueName: 'E', required: true, choices: EMOTIONS, description: 'the emotion the post should carry' },
    image: { type: 'string', valueName: 'FILE', description: 'an image (.jpg/.png) to condition on as well' },
    temperature: { type: 'number', default: 0.8, positive: true, description: 'sampling temperature (lower: safer, duller)' },
    seed: { type: 'number', default: 1, description: 'seed of the first post (the next ones count up)' },
    count: { type: 'number', default: 1, integer: true, nonNegative: true, description: 'posts to write' },
    generator: { type: 'string', valueName: 'DIR', default: path.join(DEFAULT_MODEL_DIR, 'generator'), description: 'the generator folder (npm run train:generator)' },
  },
  examples: ['npm run generate -- --emotion happy --count 3'],
});
async function main(): Promise<void> {
  const emotion = values.emotion as Emotion;
  if (!(EMOTIONS as readonly string[]).includes(emotion)) throw new ConfigError(`--emotion must be one of ${EMOTIONS.join(', ')}`);
  const generator = await PostGenerator.load(values.generator!);
  let imageFeatures: Float32Array | null = null;
  if (values.image) {
    await initBackend();
    const backbone = await ImageBackbone.load({ id: generator.config.backboneId as BackboneId });
    try {
      const pixels = await preprocessImage(await readFile(values.image), backbone.inputSize);
      imageFeatures = (await backbone.embed([pixels])).features[0]!;
    } finally {
      backbone.dispose();
    }
  }
  const seed = values.seed;
  const temperature = values.temperature;
  for (let i = 0; i < values.count; i++) {
    const post = generator.generate({ emotion, imageFeatures, temperature, seed: seed + i });
    process.stdout.write(`[generated, ${emotion}${values.image ? `, image ${path.basename(values.image)}` : ''}, seed ${seed + i}] ${post.text}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
