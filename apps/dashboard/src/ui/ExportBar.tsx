'use client';

import { useState } from 'react';
import type { WindowSize } from '@moodstream/events';
import { alertsCsvHref, seriesCsvHref } from './live-event-api';

/**
 * Take the view away for a report: the series as the API's CSV, the chart as SVG or PNG (the chart's own SVG,
 * serialised in the browser with its background; PNG drawn from it on a canvas), and the alert list as CSV.
 */
export function ExportBar({ topic, window, from, to, chartId = 'chart' }: { topic: string; window: WindowSize; from: number; to: number; chartId?: string }) {
  const [error, setError] = useState<string | null>(null);
  const base = `moodstream-${topic.replace(/[^a-z0-9_-]+/gi, '-')}-${window}`;
  const picture = async (kind: 'svg' | 'png') => {
    setError(null);
    try {
      const svg = chartSvg(chartId);
      if (kind === 'svg') {
        download(`${base}.svg`, new Blob([svg.text], { type: 'image/svg+xml' }));
        return;
      }
      download(`${base}.png`, await toPng(svg));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  };
  return (
    <div className="export-bar" data-testid="export-bar">
      <span className="control-label">Export</span>
      <a className="btn btn-small" href={seriesCsvHref({ topic, window, from, to })} download={`${base}.csv`} data-testid="export-csv">
        CSV
      </a>
      <button type="button" className="btn btn-small" onClick={() => void picture('svg')} data-testid="export-svg">
        SVG
      </button>
      <button type="button" className="btn btn-small" onClick={() => void picture('png')} data-testid="export-png">
        PNG
      </button>
      <a className="btn btn-small" href={alertsCsvHref()} download="moodstream-alerts.csv" data-testid="export-alerts-csv">
        Alerts CSV
      </a>
      {error !== null && <span className="inline-error">{error}</span>}
    </div>
  );
}

/** The chart's main SVG, standalone: the xmlns, its size and the page's dark background written in. */
function chartSvg(chartId: string): { text: string; width: number; height: number } {
  const svg = document.querySelector<SVGSVGElement>(`#${chartId} .chart-main svg.recharts-surface`);
  if (svg === null) throw new Error('no chart to export yet');
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const { width, height } = svg.getBoundingClientRect();
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(Math.round(width)));
  clone.setAttribute('height', String(Math.round(height)));
  const background = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  background.setAttribute('width', '100%');
  background.setAttribute('height', '100%');
  background.setAttribute('fill', '#121922');
  clone.insertBefore(background, clone.firstChild);
  return { text: new XMLSerializer().serializeToString(clone), width: Math.round(width), height: Math.round(height) };
}

function toPng(svg: { text: string; width: number; height: number }): Promise<Blob> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement('canvas');
      canvas.width = svg.width * 2;
      canvas.height = svg.height * 2;
      const context = canvas.getContext('2d');
      if (context === null) {
        reject(new Error('this browser cannot draw a PNG'));
        return;
      }
      context.scale(2, 2);
      context.drawImage(image, 0, 0);
      canvas.toBlob((blob) => (blob === null ? reject(new Error('the PNG could not be made')) : resolve(blob)), 'image/png');
    };
    image.onerror = () => reject(new Error('the chart could not be drawn as a PNG'));
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg.text)}`;
  });
}

function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5_000);
}
