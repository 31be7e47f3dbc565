/**
 * Writes a post from an emotion and, optionally, an image (study 6.4):
 * `npm run generate -- --emotion happy [--image FILE] [--temperature T] [--seed N] [--count N] [--generator DIR]`.
 * The output is machine-written text; it says so.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { EMOTIONS, type Emotion } from '@moodstream/events';
import { ConfigError } from '@moodstream/core';
import { initBackend } from '../backend';
import { ImageBackbone, type BackboneId } from '../image/backbone';
import { preprocessImage } from '../image/preprocess';
import { DEFAULT_MODEL_DIR } from '../paths';
import { PostGenerator } from '../generate/post-generator';
import { numberFlag } from './args';

const { values } = parseArgs({
  options: {
    emotion: { type: 'string' },
    image: { type: 'string' },
    temperature: { type: 'string' },
    seed: { type: 'string' },
    count: { type: 'string' },
    generator: { type: 'string', default: path.join(DEFAULT_MODEL_DIR, 'generator') },
  },
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
  const seed = numberFlag(values, 'seed', 1);
  const temperature = numberFlag(values, 'temperature', 0.8);
  for (let i = 0; i < numberFlag(values, 'count', 1); i++) {
    const post = generator.generate({ emotion, imageFeatures, temperature, seed: seed + i });
    process.stdout.write(`[generated, ${emotion}${values.image ? `, image ${path.basename(values.image)}` : ''}, seed ${seed + i}] ${post.text}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
