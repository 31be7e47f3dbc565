'use client';

import { EMOTIONS, WINDOW_MS, bucketStart, type Emotion, type ModelVersionChange, type Moment, type WindowSize } from '@moodstream/events';
import {
  Area,
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Line,
  ReferenceArea,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
  type TooltipProps,
} from 'recharts';
import { formatBucket, formatCount, formatPercent, formatTime } from './format';
import { EMOTION_COLORS, EMOTION_LABELS } from './palette';
import type { ChartRow, ShareMode } from './series';

export interface EmotionChartProps {
  rows: ChartRow[];
  mode: ShareMode;
  window: WindowSize;
  from: number;
  to: number;
  hidden: ReadonlySet<Emotion>;
  /** Bucket start to mark (an alert's moment or the bucket being drilled into). */
  highlight: number | null;
  onSelectBucket?: (start: number) => void;
  /** Pixel height of the shares plot; by default the stylesheet decides (shorter on phones). */
  height?: number;
  /** Moments marked during the event: a labelled vertical line each, on every chart over their time. */
  moments?: readonly Moment[];
  /** When the model scoring the shown topic changed: a labelled line each, so a step in the shares can be told from a new model. */
  versionChanges?: readonly ModelVersionChange[];
}

const AXIS = '#8b98a9';
const GRID = '#243041';

/** Emotion shares over time: one line per emotion, its 95% band behind it (raw mode), posts per bucket underneath. */
export function EmotionChart({ rows, mode, window, from, to, hidden, highlight, onSelectBucket, height, moments = [], versionChanges = [] }: EmotionChartProps) {
  const width = WINDOW_MS[window];
  const span = to - from;
  const marked = highlight === null ? null : bucketStart(highlight, window);
  const showDots = rows.length <= 40;
  const select = (state: { activeLabel?: string | number } | null | undefined) => {
    const label = state?.activeLabel;
    if (onSelectBucket !== undefined && label !== undefined && Number.isFinite(Number(label))) onSelectBucket(Number(label));
  };
  const tick = (t: number) => formatTime(t, span);
  const domain: [number, number] = [from, to];
  const partial = rows.find((r) => r.partial === true);
  const shownMoments = moments.filter((m) => m.at >= from && m.at <= to);
  const shownVersions = versionChanges.filter((c) => c.at >= from && c.at <= to);

  return (
    <div className="chart-wrap">
      <div className="chart-main" style={height !== undefined ? { height } : undefined}>
        <ResponsiveContainer>
          <ComposedChart data={rows} margin={{ top: 8, right: 12, bottom: 0, left: 0 }} onClick={select} style={{ cursor: onSelectBucket ? 'pointer' : 'default' }}>
            <CartesianGrid stroke={GRID} vertical={false} />
            <XAxis dataKey="start" type="number" scale="time" domain={domain} allowDataOverflow tickFormatter={tick} stroke={AXIS} tick={{ fontSize: 11 }} minTickGap={28} />
            <YAxis tickFormatter={(v: number) => formatPercent(v, 0)} stroke={AXIS} tick={{ fontSize: 11 }} width={40} domain={[0, (max: number) => Math.min(1, Math.ceil((max + 0.02) * 10) / 10)]} />
            <Tooltip content={<ChartTooltip mode={mode} window={window} hidden={hidden} />} cursor={{ stroke: '#5b6b80', strokeDasharray: '3 3' }} isAnimationActive={false} />
            {marked !== null && <ReferenceArea x1={marked} x2={marked + width} fill="#ffffff" fillOpacity={0.1} stroke="#ffffff" strokeOpacity={0.5} strokeDasharray="4 3" ifOverflow="extendDomain" />}
            {shownMoments.map((m) => (
              <ReferenceLine key={m.id} x={m.at} stroke={MOMENT} strokeDasharray="2 3" ifOverflow="hidden" label={<MomentLabel text={m.label} />} />
            ))}
            {shownVersions.map((c) => (
              <ReferenceLine key={`model-${c.version}`} x={c.at} stroke={MODEL_VERSION} strokeDasharray="6 3" ifOverflow="hidden" label={<ModelVersionLabel change={c} leftOfLine={span > 0 && (c.at - from) / span > 0.6} />} />
            ))}
            {mode === 'raw' &&
              EMOTIONS.filter((e) => !hidden.has(e)).map((e) => (
                <Area key={`${e}-band`} dataKey={`${e}Band`} stroke="none" fill={EMOTION_COLORS[e]} fillOpacity={0.13} isAnimationActive={false} activeDot={false} legendType="none" />
              ))}
            {EMOTIONS.filter((e) => !hidden.has(e)).map((e) => (
              // The still-filling newest bucket: dashed from the last complete bucket, a hollow dot, its band behind.
              <Line
                key={`${e}-partial`}
                dataKey={`${e}Partial`}
                stroke={EMOTION_COLORS[e]}
                strokeWidth={1.5}
                strokeDasharray="4 3"
                dot={(props: { cx?: number; cy?: number; index?: number; payload?: ChartRow }) =>
                  props.payload?.partial === true && props.cx !== undefined && props.cy !== undefined ? (
                    <circle key={`${e}-partial-dot-${props.index ?? 0}`} cx={props.cx} cy={props.cy} r={3} fill="none" stroke={EMOTION_COLORS[e]} strokeWidth={1.5} />
                  ) : (
                    <g key={`${e}-partial-none-${props.index ?? 0}`} />
                  )
                }
                activeDot={{ r: 4 }}
                isAnimationActive={false}
                legendType="none"
              />
            ))}
            {EMOTIONS.filter((e) => !hidden.has(e)).map((e) => (
              <Line
                key={e}
                dataKey={e}
                name={EMOTION_LABELS[e]}
                stroke={EMOTION_COLORS[e]}
                strokeWidth={2}
                dot={showDots ? { r: 2.5, strokeWidth: 0, fill: EMOTION_COLORS[e] } : false}
                activeDot={{ r: 4 }}
                isAnimationActive={false}
                connectNulls
              />
            ))}
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      {partial !== undefined && (
        <div className="chart-partial dim" data-testid="chart-partial" data-start={partial.start} data-count={partial.count}>
          Dashed: the {formatBucket(partial.start, window)} bucket is still filling ({formatCount(partial.count)} posts so far); the band shows how sure that is so far.
        </div>
      )}
      <div className="chart-counts" aria-label="Posts per bucket">
        <ResponsiveContainer>
          <BarChart data={rows} margin={{ top: 4, right: 12, bottom: 0, left: 0 }} onClick={select} style={{ cursor: onSelectBucket ? 'pointer' : 'default' }}>
            <XAxis dataKey="start" type="number" scale="time" domain={domain} allowDataOverflow hide />
            <YAxis tickFormatter={formatCount} stroke={AXIS} tick={{ fontSize: 10 }} width={40} tickCount={3} />
            {marked !== null && <ReferenceArea x1={marked} x2={marked + width} fill="#ffffff" fillOpacity={0.1} ifOverflow="extendDomain" />}
            {shownMoments.map((m) => (
              <ReferenceLine key={m.id} x={m.at} stroke={MOMENT} strokeDasharray="2 3" ifOverflow="hidden" />
            ))}
            {shownVersions.map((c) => (
              <ReferenceLine key={`model-${c.version}`} x={c.at} stroke={MODEL_VERSION} strokeDasharray="6 3" ifOverflow="hidden" />
            ))}
            <Tooltip content={<CountTooltip window={window} />} cursor={{ fill: '#ffffff', fillOpacity: 0.06 }} isAnimationActive={false} />
            <Bar dataKey="count" fill="#5b6b80" isAnimationActive={false} maxBarSize={18} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </div>
  );
}

const MOMENT = '#e8eef7';

/** A moment's label at the top of its line; user text, rendered as SVG text (never markup). */
function MomentLabel({ text, viewBox }: { text: string; viewBox?: { x?: number; y?: number } }) {
  const x = viewBox?.x ?? 0;
  const y = (viewBox?.y ?? 0) + 10;
  return (
    <g data-testid="chart-moment" data-label={text}>
      <text x={x + 4} y={y} fill={MOMENT} fontSize={11} fontWeight={600}>
        {text.length > 24 ? `${text.slice(0, 23)}…` : text}
      </text>
    </g>
  );
}

const MODEL_VERSION = '#f2b84b';

/**
 * A model change's label at the foot of its line (moments' labels sit at the top), the version as SVG text; on the
 * right part of the chart it goes left of the line, so the newest change (usually at the right edge) is not cut off.
 */
function ModelVersionLabel({ change, leftOfLine, viewBox }: { change: ModelVersionChange; leftOfLine: boolean; viewBox?: { x?: number; y?: number; height?: number } }) {
  const x = viewBox?.x ?? 0;
  const y = (viewBox?.y ?? 0) + (viewBox?.height ?? 0) - 6;
  const text = `model ${change.version}`;
  return (
    <g data-testid="chart-model-version" data-version={change.version} data-previous={change.previous ?? ''}>
      <title>{`Posts from here on were scored by model ${change.version}${change.previous === null ? '' : ` (before: ${change.previous})`}`}</title>
      <text x={leftOfLine ? x - 4 : x + 4} y={y} textAnchor={leftOfLine ? 'end' : 'start'} fill={MODEL_VERSION} fontSize={11} fontWeight={600}>
        {text.length > 32 ? `${text.slice(0, 31)}…` : text}
      </text>
    </g>
  );
}

function rowOf(payload: TooltipProps<number, string>['payload']): ChartRow | null {
  const first = payload?.[0];
  return first === undefined ? null : (first.payload as ChartRow);
}

function ChartTooltip({ active, payload, mode, window, hidden }: TooltipProps<number, string> & { mode: ShareMode; window: WindowSize; hidden: ReadonlySet<Emotion> }) {
  const row = active ? rowOf(payload) : null;
  if (row === null) return null;
  return (
    <div className="tooltip">
      <div className="tooltip-title">
        {formatBucket(row.start, window)} · {formatCount(row.count)} posts{row.partial === true ? ' · still filling' : ''}
      </div>
      <table>
        <tbody>
          {EMOTIONS.filter((e) => !hidden.has(e)).map((e) => {
            const band = row[`${e}Band`];
            const value = row[e] ?? row[`${e}Partial`];
            return (
              <tr key={e}>
                <td>
                  <span className="dot" style={{ background: EMOTION_COLORS[e] }} />
                  {EMOTION_LABELS[e]}
                </td>
                <td className="num">{value === undefined ? '–' : formatPercent(value)}</td>
                {mode === 'raw' && <td className="num dim">{band === undefined ? '' : `${formatPercent(band[0])}–${formatPercent(band[1])}`}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="tooltip-hint">Click to see this bucket&apos;s posts</div>
    </div>
  );
}

function CountTooltip({ active, payload, window }: TooltipProps<number, string> & { window: WindowSize }) {
  const row = active ? rowOf(payload) : null;
  if (row === null) return null;
  return (
    <div className="tooltip">
      {formatBucket(row.start, window)} · {formatCount(row.count)} posts
    </div>
  );
}
