import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LearnReport } from '../train/learn-loop';

/** MODEL_CARD.md of a registry version: where it came from, what it learnt from, and the gate's numbers. */
export async function writeRegistryCard(dir: string, r: LearnReport, promoted: boolean): Promise<void> {
  const rows = r.decision.verdicts.map(
    (v) =>
      `| ${v.slice} | ${v.current.n} | ${v.current.accuracy.toFixed(3)} / ${v.current.macroF1.toFixed(3)} | ${v.candidate.accuracy.toFixed(3)} / ${v.candidate.macroF1.toFixed(3)} | ${v.deltaMacroF1 >= 0 ? '+' : ''}${v.deltaMacroF1.toFixed(3)} | ${v.margin} | ${v.pass ? 'ok' : 'worse'} |`,
  );
  const text = `# moodstream model ${r.version} (self-labelling loop)

Fine-tuned from **${r.parent}** on ${r.posts.trainedOn} (a seeded sample of ${r.posts.train}) recent self-labelled posts (the oldest part, by time, of the newest
${r.posts.used}) plus a replay sample of the fixed sets (${Object.entries(r.replay).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'});
checkpoint and calibration chosen on the ${r.posts.validation} posts after them by time (or a sample: --selection-rows) and the fixed dev splits (text temperature
${r.calibration.temperature.toFixed(3)}, joint over domains).${r.posts.shuffledLabels ? '\n\n**Trained on SHUFFLED labels on purpose** (a deliberately bad candidate: the gate must refuse it).' : ''}

Status: **${promoted ? 'promoted' : 'not promoted'}**${r.decision.promote ? '' : ` — refused: ${r.decision.refusedBecause.join('; ')}`}.

| slice | n | current acc / macro-F1 | candidate acc / macro-F1 | Δ macro-F1 | margin | verdict |
| --- | ---: | --- | --- | ---: | ---: | --- |
${rows.join('\n')}

\`posts-newest\` is the time-held-out slice: the newest ${r.posts.heldOut} labelled posts, never trained on or used to select.
Image-only and image+text scoring keep the parent's image branch and image temperatures (the loop learns from text).
Training data credits are the parent's (see its MODEL_CARD.md) plus the posts' authors.
`;
  await writeFile(path.join(dir, 'MODEL_CARD.md'), text);
}
