// Light and dark mode: Tailwind's `dark` class on <html>, remembered in
// localStorage; without a choice, the system's prefers-color-scheme.
import { useCallback, useState } from 'react';

export type Theme = 'light' | 'dark';
const KEY = 'berth.theme';

function stored(): Theme | null {
  const v = localStorage.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : null;
}

export function initialTheme(): Theme {
  return stored() ?? (window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

export function applyTheme(theme: Theme) {
  document.documentElement.classList.toggle('dark', theme === 'dark');
}

export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const toggle = useCallback(() => {
    setTheme((t) => {
      const next: Theme = t === 'dark' ? 'light' : 'dark';
      localStorage.setItem(KEY, next);
      applyTheme(next);
      return next;
    });
  }, []);
  return [theme, toggle];
}
