// A labelled input with the API's validation message under it.
import { forwardRef, useId, type InputHTMLAttributes } from 'react';

type Props = { label: string; error?: string | null } & InputHTMLAttributes<HTMLInputElement>;

export const Field = forwardRef<HTMLInputElement, Props>(function Field({ label, error, ...input }, ref) {
  const id = useId();
  const errId = `${id}-error`;
  return (
    <div>
      <label htmlFor={id} className="label">
        {label}
      </label>
      <input
        ref={ref}
        id={id}
        className="input"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errId : undefined}
        {...input}
      />
      {error && (
        <p id={errId} className="mt-1 text-sm text-red-700 dark:text-red-400" data-field-error={input.name}>
          {error}
        </p>
      )}
    </div>
  );
});
