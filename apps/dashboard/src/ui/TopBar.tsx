'use client';

import { useConnection } from './hooks';

export function TopBar({ current }: { current: 'live' | 'replay' | 'model' }) {
  const connected = useConnection();
  return (
    <header className="topbar">
      <a className="brand" href="/">
        <span className="brand-mark" aria-hidden="true" />
        moodstream
      </a>
      <nav className="nav" aria-label="Views">
        <a href="/" className={current === 'live' ? 'active' : undefined} aria-current={current === 'live' ? 'page' : undefined} data-testid="nav-live">
          Live
        </a>
        <a href="/replay" className={current === 'replay' ? 'active' : undefined} aria-current={current === 'replay' ? 'page' : undefined} data-testid="nav-replay">
          Replay
        </a>
        <a href="/model" className={current === 'model' ? 'active' : undefined} aria-current={current === 'model' ? 'page' : undefined} data-testid="nav-model">Model</a>
      </nav>
      <span className={connected ? 'conn on' : 'conn'} data-testid="connection" data-connected={connected}>
        <span className="conn-dot" aria-hidden="true" />
        {connected ? 'Live' : 'Connecting…'}
      </span>
    </header>
  );
}
