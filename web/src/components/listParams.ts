// List screens keep their filters and page in the URL (?q=…&offset=…), so
// the back button, reloads and shared links keep them.
import { useCallback } from 'react';
import { useSearchParams } from 'react-router-dom';

export const PAGE_SIZE = 20;

export function useListParams<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const offset = Math.max(0, Number.parseInt(params.get('offset') ?? '0', 10) || 0);
  const filters = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as Record<K, string>;

  /** Change one filter; back to the first page. */
  const setFilter = useCallback(
    (key: K, value: string) =>
      setParams(
        (p) => {
          const n = new URLSearchParams(p);
          if (value) n.set(key, value);
          else n.delete(key);
          n.delete('offset');
          return n;
        },
        { replace: true },
      ),
    [setParams],
  );

  const setOffset = useCallback(
    (o: number) =>
      setParams((p) => {
        const n = new URLSearchParams(p);
        if (o > 0) n.set('offset', String(o));
        else n.delete('offset');
        return n;
      }),
    [setParams],
  );

  return { offset, limit: PAGE_SIZE, filters, setFilter, setOffset };
}
