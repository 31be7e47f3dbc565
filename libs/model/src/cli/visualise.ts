/**
 * Class visualisation (study 6.3): `npm run visualise -- --emotion scared --out scared.png [--steps N] [--seed N]`,
 * or `--emotion all --out-dir models/default/explain` for the six images the model page shows (plus
 * visualisations.json with each one's scores). Gradient ascent on the image through the image branch.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { EMOTIONS, type Emotion } from '@moodstream/events';
import { ConfigError } from '@moodstream/core';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { DEFAULT_MODEL_DIR } from '../paths';
import { DifferentiableBackbone } from '../explain/differentiable-backbone';
import { visualiseEmotion, type Visualisation } from '../explain/class-visualisation';
import { VISUALISATIONS_FILE, type VisualisationRecord } from '../explain/explain-files';
import { ProgressBar } from '../train/progress';
import { numberFlag } from './args';

const { values } = parseArgs({
  options: {
    emotion: { type: 'string' },
    out: { type: 'string' },
    'out-dir': { type: 'string' },
    model: { type: 'string', default: DEFAULT_MODEL_DIR },
    steps: { type: 'string' },
    seed: { type: 'string' },
    'learning-rate': { type: 'string' },
  },
});

async function writePng(v: Visualisation, file: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await sharp(Buffer.from(v.pixels), { raw: { width: v.size, height: v.size, channels: 3 } }).png().toFile(file);
}

async function main(): Promise<void> {
  const emotions: Emotion[] = values.emotion === 'all' ? [...EMOTIONS] : [values.emotion as Emotion];
  if (!emotions.every((e) => (EMOTIONS as readonly string[]).includes(e))) throw new ConfigError(`--emotion must be one of ${EMOTIONS.join(', ')} or all`);
  if (values.emotion !== 'all' && !values.out) throw new ConfigError('--out FILE.png is required (or --emotion all --out-dir DIR)');
  if (values.emotion === 'all' && !values['out-dir']) throw new ConfigError('--emotion all needs --out-dir DIR');
  const steps = numberFlag(values, 'steps', 500);
  const seed = numberFlag(values, 'seed', 1);
  const backend = await initBackend();
  process.stderr.write(`[visualise] backend ${backend.name}; ${steps} steps per emotion\n`);
  const model = await EmotionModel.load(values.model!, { warmUp: false });
  const backbone = await DifferentiableBackbone.load(model.backboneId);
  const records: VisualisationRecord[] = [];
  try {
    for (const emotion of emotions) {
      const bar = new ProgressBar(`visualise ${emotion}`, steps);
      const started = Date.now();
      const v = await visualiseEmotion(model, backbone, {
        emotion,
        steps,
        seed,
        learningRate: numberFlag(values, 'learning-rate', 0.01),
        onStep: (_, score) => bar.tick(1, `score ${score.toFixed(2)}`),
      }).finally(() => bar.stop());
      const file = values.emotion === 'all' ? path.join(values['out-dir']!, `${emotion}.png`) : values.out!;
      await writePng(v, file);
      const k = EMOTIONS.indexOf(emotion);
      const record: VisualisationRecord = {
        emotion,
        file: path.basename(file),
        steps,
        seed,
        seconds: (Date.now() - started) / 1000,
        startScore: v.startLogits[k]!,
        finalScore: v.finalLogits[k]!,
        topEmotion: v.topEmotion,
        finalLogits: v.finalLogits,
        modelVersion: model.version,
      };
      records.push(record);
      process.stdout.write(JSON.stringify(record) + '\n');
    }
  } finally {
    backbone.dispose();
    model.dispose();
  }
  if (values.emotion === 'all') {
    const file = path.join(values['out-dir']!, VISUALISATIONS_FILE);
    await writeFile(file, JSON.stringify({ backend: backend.name, images: records }, null, 2) + '\n');
  } else if (values['out-dir']) {
    // One emotion redone into a folder that has the others: replace its record, keep theirs.
    const file = path.join(values['out-dir'], VISUALISATIONS_FILE);
    const old = JSON.parse(await readFile(file, 'utf8').catch(() => '{"images":[]}')) as { images: VisualisationRecord[] };
    await writeFile(file, JSON.stringify({ backend: backend.name, images: [...old.images.filter((r) => r.emotion !== records[0]!.emotion), ...records] }, null, 2) + '\n');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
