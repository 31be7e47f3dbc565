export function Segmented<T extends string>({
  label,
  options,
  value,
  onChange,
  disabled,
  testId,
}: {
  label: string;
  options: readonly T[];
  value: T;
  onChange: (value: T) => void;
  disabled?: (value: T) => boolean;
  testId?: string;
}) {
  return (
    <div className="segmented" role="group" aria-label={label} data-testid={testId}>
      <span className="control-label">{label}</span>
      <div className="segments">
        {options.map((o) => (
          <button key={o} type="button" className={o === value ? 'seg on' : 'seg'} aria-pressed={o === value} disabled={disabled?.(o) ?? false} onClick={() => onChange(o)} data-value={o}>
            {o}
          </button>
        ))}
      </div>
    </div>
  );
}
