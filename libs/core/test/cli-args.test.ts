import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHelp, parseCommandLine, usageErrorText, type CommandSpec } from '../src/index';

const spec = {
  command: 'npm run train',
  summary: 'train the emotion model',
  usage: '--data DIR [options]',
  options: {
    data: { type: 'string', valueName: 'DIR', description: 'labelled data folder' },
    out: { type: 'string', valueName: 'DIR', default: 'models/default', description: 'where the model folder is written' },
    epochs: { type: 'number', integer: true, nonNegative: true, default: 4, description: 'passes over the training set' },
    'learning-rate': { type: 'number', positive: true, description: 'Adam step size' },
    bidirectional: { type: 'boolean', default: false, description: 'a bidirectional LSTM' },
    verbose: { type: 'boolean', short: 'v', description: 'say more' },
    tag: { type: 'string', multiple: true, valueName: 'T', description: 'a tag to read' },
    selection: { type: 'string', choices: ['domains', 'pooled'], default: 'domains', description: 'model selection rule' },
  },
  examples: ['npm run train -- --data ../shared/data'],
  notes: 'Reads nothing from the environment.',
} as const satisfies CommandSpec;

function values(argv: string[]) {
  const outcome = parseCommandLine(spec, argv);
  if (!('values' in outcome)) assert.fail(`expected values, got ${JSON.stringify(outcome)}`);
  return outcome.values;
}
function error(argv: string[], s: CommandSpec = spec): string {
  const outcome = parseCommandLine(s, argv);
  if (!('error' in outcome)) assert.fail(`expected an error, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

test('the help text lists every option with its description and default, the usage as typed, examples and notes', () => {
  const help = formatHelp(spec);
  assert.match(help, /^npm run train — train the emotion model\n/);
  assert.match(help, /\nusage: npm run train -- --data DIR \[options\]\n/);
  for (const [name, option] of Object.entries(spec.options)) {
    const line = help.split('\n').find((l) => l.includes(`--${name}`));
    assert.ok(line !== undefined, `--${name} is listed`);
    assert.ok(help.includes(option.description), `--${name}'s description`);
  }
  assert.match(help, /--out DIR +where the model folder is written \(default: models\/default\)/);
  assert.match(help, /--epochs N +passes over the training set \(default: 4\)/);
  assert.match(help, /-v, --verbose +say more\n/);
  assert.match(help, /--tag T +a tag to read \(repeatable\)/);
  assert.match(help, /model selection rule \(one of: domains, pooled\) \(default: domains\)/);
  assert.doesNotMatch(help, /default: false/, 'a boolean off by default says nothing');
  assert.match(help, /-h, --help +print this help and exit/);
  assert.match(help, /examples:\n {2}npm run train -- --data \.\.\/shared\/data\n/);
  assert.match(help, /Reads nothing from the environment\./);
  assert.match(help, /exit status: 0 done, 1 failed, 2 bad command line\.\n$/);
});

test('--help and -h return the help text, even next to a bad flag', () => {
  for (const argv of [['--help'], ['-h'], ['--data', 'x', '--help'], ['--bogus', '-h']]) {
    const outcome = parseCommandLine(spec, argv);
    assert.deepEqual(outcome, { help: formatHelp(spec) }, argv.join(' '));
  }
});

test('a long description wraps under its own column', () => {
  const help = formatHelp({ command: 'x', summary: 's', options: { long: { type: 'string', description: 'word '.repeat(40).trim() } } });
  const lines = help.split('\n').filter((l) => l.includes('word'));
  assert.ok(lines.length > 1);
  for (const l of lines) assert.ok(l.length <= 100, `≤ 100 columns: ${l}`);
  assert.ok(lines.slice(1).every((l) => l.startsWith(' '.repeat(28)) && l.trim().startsWith('word')));
  const notes = formatHelp({ command: 'x', summary: 's', options: {}, notes: `  A  short table line\n${'note '.repeat(40)}` }).split('\n');
  assert.ok(notes.includes('  A  short table line'), 'a short note line is kept as written');
  assert.ok(notes.includes(`${'note '.repeat(40)}`.trimEnd()), 'a paragraph with a table keeps its layout');
  const prose = formatHelp({ command: 'x', summary: 's', options: {}, notes: `${'one '.repeat(20)}\n${'two '.repeat(20)}\n\nlast` }).split('\n');
  assert.ok(prose.some((l) => l.includes('one two')), 'a plain paragraph is reflowed');
  assert.ok(prose.includes('last'), 'paragraphs stay apart');
});

test('values: defaults, strings, converted numbers, booleans, repeated options', () => {
  assert.deepEqual(values([]), { data: undefined, out: 'models/default', epochs: 4, 'learning-rate': undefined, bidirectional: false, verbose: undefined, tag: undefined, selection: 'domains' });
  const v = values(['--data', 'd', '--epochs', '7', '--learning-rate=0.003', '--bidirectional', '-v', '--tag', 'a', '--tag', 'b', '--out=-odd']);
  assert.equal(v.data, 'd');
  assert.equal(v.epochs, 7);
  assert.equal(v['learning-rate'], 0.003);
  assert.equal(v.bidirectional, true);
  assert.equal(v.verbose, true);
  assert.deepEqual(v.tag, ['a', 'b']);
  assert.equal(v.out, '-odd', "an inline value may start with '-'");
});

test('an unknown option is named as typed', () => {
  assert.equal(error(['--epoch', '3']), "unknown option '--epoch'");
  assert.equal(error(['-x']), "unknown option '-x'");
});

test('a missing value is said, also when the next word is another flag', () => {
  assert.equal(error(['--data']), '--data needs a value');
  assert.equal(error(['--data', '--epochs', '3']), "--data needs a value (to pass one starting with '-', write --data=--epochs)");
});

test('a bad number is a usage error, never NaN', () => {
  assert.equal(error(['--epochs', 'four']), "--epochs must be a number, got 'four'");
  assert.equal(error(['--epochs', '']), "--epochs must be a number, got ''");
  assert.equal(error(['--epochs', '2.5']), "--epochs must be a whole number, got '2.5'");
  assert.equal(error(['--epochs=-1']), "--epochs must be 0 or more, got '-1'");
  assert.equal(error(['--learning-rate', '0']), "--learning-rate must be greater than 0, got '0'");
  assert.equal(error(['--learning-rate', 'Infinity']), "--learning-rate must be a number, got 'Infinity'");
  assert.equal(values(['--epochs', '0']).epochs, 0);
});

test('a negative number may follow its flag directly', () => {
  const s = { command: 'x', summary: 's', options: { shift: { type: 'number', description: 'd' } } } as const;
  const outcome = parseCommandLine(s, ['--shift', '-2']);
  assert.ok('values' in outcome && outcome.values.shift === -2);
});

test('a boolean takes no value; choices and required are checked', () => {
  assert.equal(error(['--bidirectional=yes']), "--bidirectional takes no value (got 'yes')");
  assert.equal(error(['--selection', 'best']), "--selection must be one of domains, pooled, got 'best'");
  const s = { command: 'x', summary: 's', options: { model: { type: 'string', required: true, description: 'd' } } } as const;
  assert.equal(error([], s), '--model is required');
  const ok = parseCommandLine(s, ['--model', 'm']);
  assert.ok('values' in ok && ok.values.model === 'm');
});

test('`--` as npm passes it: a leading one is dropped, a later one ends the options', () => {
  assert.equal(values(['--', '--epochs', '2']).epochs, 2, 'a leading -- (pnpm, or npm run x -- -- …) is ignored');
  assert.equal(error(['--epochs', '2', '--', '--data']), "unexpected argument '--data'");
  const files = { command: 'x', summary: 's', positionals: { valueName: 'FILE...', description: 'inputs' }, options: { out: { type: 'string', description: 'd' } } } as const;
  const outcome = parseCommandLine(files, ['a.tsv', '--out', 'o', '--', '--b.tsv']);
  assert.deepEqual(outcome, { values: { out: 'o' }, positionals: ['a.tsv', '--b.tsv'], prefixed: {} });
  assert.match(formatHelp(files), /arguments:\n {2}FILE\.\.\. +inputs\n/);
});

test('a command without flags: its usage line is the bare command', () => {
  const help = formatHelp({ command: 'npm run scorer', summary: 's', usage: '', options: {} });
  assert.match(help, /\nusage: npm run scorer\n/);
});

test('a positional is an error for a command that takes none', () => {
  assert.equal(error(['models/x']), "unexpected argument 'models/x'");
});

test('the usage error names the command and the help flag as the user types it', () => {
  assert.equal(usageErrorText(spec, "unknown option '--x'"), "npm run train: unknown option '--x'\nTry 'npm run train -- --help'.\n");
  assert.equal(usageErrorText({ command: 'node --import tsx bench/x.ts', summary: 's', options: {} }, 'm'), "node --import tsx bench/x.ts: m\nTry 'node --import tsx bench/x.ts --help'.\n");
});

test('a prefixed family: --margin-<slice> N by suffix, spaced or inline, numbers checked', () => {
  const s = { command: 'x', summary: 's', prefixed: { prefix: 'margin-', suffixName: 'SLICE', description: 'margin of one slice' }, options: { margin: { type: 'number', default: 0.01, description: 'd' } } } as const;
  const outcome = parseCommandLine(s, ['--margin-posts', '0.02', '--margin', '0.03', '--margin-carer=0.5']);
  assert.deepEqual(outcome, { values: { margin: 0.03 }, positionals: [], prefixed: { posts: 0.02, carer: 0.5 } });
  assert.deepEqual(parseCommandLine(s, ['--margin-posts', 'x']), { error: "--margin-posts must be a number, got 'x'" });
  assert.deepEqual(parseCommandLine(s, ['--margin-posts']), { error: '--margin-posts needs a value' });
  assert.deepEqual(parseCommandLine(s, ['--marginal', '1']), { error: "unknown option '--marginal'" });
  assert.match(formatHelp(s), /--margin-SLICE N +margin of one slice/);
});
