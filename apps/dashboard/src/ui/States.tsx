import type { ReactNode } from 'react';

export function Loading({ label = 'Loading…', testId }: { label?: string; testId?: string }) {
  return (
    <div className="state state-loading" role="status" data-testid={testId}>
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <div className="state state-empty" data-testid={testId}>
      {children}
    </div>
  );
}

export function ErrorBox({ message, onRetry, testId }: { message: string; onRetry?: () => void; testId?: string }) {
  return (
    <div className="state state-error" role="alert" data-testid={testId}>
      <span>{message}</span>
      {onRetry !== undefined && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}
