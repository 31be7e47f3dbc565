/**
 * What the dashboard's model page shows, computed from the model folder: `npm run model:explain -- [--model DIR]
 * [--data ../shared/data] [--no-eval] [--no-eval-images]`. Writes into DIR/explain: top-words.json (the text branch's response to single
 * words), generated-posts.json (from DIR/generator, marked as generated) and evaluation.json (`npm run eval -- --json`
 * on the GoEmotions test split and the Emotion6 held-out fifth). Re-run it whenever the model is retrained, and
 * with it `npm run visualise -- --emotion all --out-dir DIR/explain` (the six class visualisations and
 * visualisations.json: 500 steps each, ~6 min of CPU per image; a separate command because it is the long part).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { DEFAULT_MODEL_DIR } from '../paths';
import { EXPLAIN_DIR, GENERATED_POSTS_FILE, TOP_WORDS_FILE } from '../explain/explain-files';
import { topWords } from '../explain/top-words';
import { PostGenerator } from '../generate/post-generator';

const { values } = parseCommandLineOrExit({
  command: 'npm run model:explain',
  summary: "write what the dashboard's model page shows into <model>/explain: top words, generated posts, evaluation",
  options: {
    model: { type: 'string', valueName: 'DIR', default: DEFAULT_MODEL_DIR, description: 'the model folder' },
    data: { type: 'string', valueName: 'DIR', default: '../shared/data', description: 'shared data folder for the evaluation (GoEmotions test split, Emotion6 images)' },
    'no-eval': { type: 'boolean', default: false, description: 'skip the evaluation (evaluation.json)' },
    'no-eval-images': { type: 'boolean', default: false, description: 'evaluate the text split only' },
    top: { type: 'number', default: 20, integer: true, positive: true, description: 'top words kept per emotion' },
  },
  notes: 'The class visualisations are a separate, long command: npm run visualise -- --emotion all --out-dir <model>/explain',
});

const log = (m: string) => process.stderr.write(`[model:explain] ${m}\n`);

async function runEval(dir: string, out: string): Promise<void> {
  const args = ['--import', 'tsx', path.join(path.dirname(new URL(import.meta.url).pathname), 'eval.ts'), '--model', dir, '--json'];
  const text = path.join(values.data!, 'goemotions/ekman6_test.tsv');
  const images = path.join(values.data!, 'emotion6/images');
  if (existsSync(text)) args.push('--text', text);
  if (!values['no-eval-images'] && existsSync(images)) args.push('--images', images);
  log(`evaluating: node ${args.slice(2).join(' ')}`);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`eval exited ${code}`))));
  });
  await writeFile(out, Buffer.concat(chunks));
}

async function main(): Promise<void> {
  const dir = values.model!;
  const outDir = path.join(dir, EXPLAIN_DIR);
  await mkdir(outDir, { recursive: true });
  await initBackend();
  const model = await EmotionModel.load(dir, { warmUp: false });
  const words = await topWords(model, { perEmotion: values.top });
  await writeFile(path.join(outDir, TOP_WORDS_FILE), JSON.stringify(words, null, 2) + '\n');
  log(`top words: ${EMOTIONS.map((e) => `${e}: ${words.emotions[e]!.slice(0, 5).map((w) => w.token).join(' ')}`).join(' | ')}`);
  model.dispose();

  const generatorDir = path.join(dir, 'generator');
  if (existsSync(generatorDir)) {
    const generator = await PostGenerator.load(generatorDir);
    const temperature = 0.8;
    const posts = EMOTIONS.flatMap((emotion) => [1, 2].map((seed) => ({ emotion, seed, temperature, text: generator.generate({ emotion, seed, temperature }).text })));
    const t = generator.config.training as { conditioned?: { perplexity?: number }; unconditionedBaseline?: { perplexity?: number }; unigramPerplexity?: number };
    const perplexity =
      t.conditioned?.perplexity !== undefined && t.unconditionedBaseline?.perplexity !== undefined && t.unigramPerplexity !== undefined
        ? { conditioned: t.conditioned.perplexity, unconditioned: t.unconditionedBaseline.perplexity, unigram: t.unigramPerplexity }
        : null;
    await writeFile(path.join(outDir, GENERATED_POSTS_FILE), JSON.stringify({ generatorVersion: generator.config.version, perplexity, posts }, null, 2) + '\n');
    for (const p of posts) log(`generated (${p.emotion}, seed ${p.seed}): ${p.text}`);
  }
  if (!values['no-eval']) await runEval(dir, path.join(outDir, 'evaluation.json'));
  log(`class visualisations are not redone here: npm run visualise -- --emotion all --out-dir ${outDir}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
