import { useTheme } from '../theme';
import { IconMoon, IconSun } from './Icons';

export function ThemeToggle() {
  const [theme, toggle] = useTheme();
  const next = theme === 'dark' ? 'light' : 'dark';
  return (
    <button type="button" className="btn-icon" onClick={toggle} aria-label={`Switch to ${next} mode`} title={`Switch to ${next} mode`}>
      {theme === 'dark' ? <IconSun /> : <IconMoon />}
    </button>
  );
}
