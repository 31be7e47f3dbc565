import { EMOTION_COUNT } from '@moodstream/events';
import { ValidationError } from '@moodstream/core';
import { softmaxRow } from '../calibration';
import type { EmotionModel } from '../emotion-model';
import { logitsOf, type LabelledRow } from './trainer';

const K = EMOTION_COUNT;

/**
 * `--teachers` spec → model folders per source name: `goemotions=A+B,carer=A` (a source's teachers joined by `+`),
 * or a bare `A+B` for every source. A source with no entry trains on its hard labels.
 */
export function parseTeachers(spec: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? '*' : part.slice(0, eq).trim();
    const dirs = (eq < 0 ? part : part.slice(eq + 1)).split('+').map((d) => d.trim()).filter(Boolean);
    if (!name || dirs.length === 0) throw new ValidationError(`teacher spec '${part}' is not source=DIR+DIR or DIR+DIR`);
    if (out.has(name)) throw new ValidationError(`teacher spec names '${name}' twice`);
    out.set(name, dirs);
  }
  return out;
}

/**
 * Knowledge distillation targets: each row's `soft` = (1 − weight)·one-hot(label) + weight·(mean of its teachers'
 * softmax of raw logits). Raw, not calibrated: the teachers were trained under the same class weights the student
 * is, so their raw outputs are on the student's scale (calibration is fitted on the student afterwards).
 * An ensemble of independently trained models beats each of them on dev; a student of today's size trained on
 * its averaged probabilities keeps part of that gain at one model's cost (Hinton et al. 2015).
 * `teachers[s]` are the teachers of rows with `source` s (none: the row keeps its hard label).
 */
export async function distilTargets(rows: LabelledRow[], teachers: ReadonlyArray<readonly EmotionModel[]>, weight: number): Promise<number> {
  if (!(weight >= 0 && weight <= 1)) throw new ValidationError(`distillation weight must be in [0, 1], got ${weight}`);
  let done = 0;
  for (let s = 0; s < teachers.length; s++) {
    const models = teachers[s] ?? [];
    const own = rows.filter((r) => (r.source ?? 0) === s && r.tokens.length > 0);
    if (models.length === 0 || own.length === 0) continue;
    const mean = new Float64Array(own.length * K);
    for (const model of models) {
      const logits = await logitsOf(model, own);
      for (let i = 0; i < own.length; i++) {
        const p = softmaxRow(logits.subarray(i * K, (i + 1) * K), 1);
        for (let c = 0; c < K; c++) mean[i * K + c]! += p[c]! / models.length;
      }
    }
    own.forEach((r, i) => {
      r.soft = Array.from({ length: K }, (_, c) => (1 - weight) * (c === r.label ? 1 : 0) + weight * mean[i * K + c]!);
    });
    done += own.length;
  }
  return done;
}
