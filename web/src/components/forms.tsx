// Form pieces: a labelled select, and the API's validation message put next
// to the field it names (ApiError.field) or, for anything else, above the
// form.
import { useId, type ReactNode, type SelectHTMLAttributes } from 'react';
import { ApiError } from '../api/client';
import { ErrorBox } from './ui';

type SelectProps = { label: string; error?: string | null; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>;

export function SelectField({ label, error, children, ...select }: SelectProps) {
  const id = useId();
  const errId = `${id}-error`;
  return (
    <div>
      <label htmlFor={id} className="label">
        {label}
      </label>
      <select
        id={id}
        className="input"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errId : undefined}
        {...select}
      >
        {children}
      </select>
      {error && (
        <p id={errId} className="mt-1 text-sm text-red-700 dark:text-red-400" data-field-error={select.name}>
          {error}
        </p>
      )}
    </div>
  );
}

/**
 * Splits a failed submit into the message for each field the form shows and
 * the error to show above the form (one no field of the form is about).
 * `fields` maps the API's field names ("limits.sites") to the form's.
 */
export function formErrors(error: unknown, fields: readonly string[]) {
  const named = error instanceof ApiError && error.field !== null ? error.field : null;
  // "kind.upstream" may come back as "upstream" or "kind": match either end.
  const hit =
    named === null
      ? null
      : (fields.find((f) => f === named) ??
        fields.find((f) => f.endsWith(`.${named}`) || named.endsWith(`.${f}`)) ??
        null);
  return {
    field: (name: string): string | null => (hit === name && error instanceof Error ? error.message : null),
    general: error !== null && error !== undefined && hit === null ? error : null,
  };
}

export function FormError({ error }: { error: unknown }) {
  return error === null ? null : <ErrorBox error={error} />;
}

/** A number input's text as the API's optional count: empty means absent. */
export function optionalCount(text: string): number | null {
  const t = text.trim();
  if (t === '') return null;
  // Anything else is sent as typed, for the API to say what is wrong.
  return Number(t);
}
