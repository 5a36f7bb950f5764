// The user menu: who is signed in, log out, log out everywhere.
import { useEffect, useId, useRef, useState } from 'react';
import { useAuth, useMe } from '../auth/AuthProvider';
import { ROLE_LABEL } from '../auth/roles';
import { IconChevronDown, IconUser } from './Icons';
import { ErrorBox } from './ui';

export function UserMenu() {
  const me = useMe();
  const { logout } = useAuth();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const box = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menuId = useId();

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);

  const run = async (everywhere: boolean) => {
    setBusy(true);
    setError(null);
    try {
      await logout(everywhere);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <div className="relative" ref={box}>
      <button
        ref={button}
        type="button"
        className="flex items-center gap-2 rounded-md px-2 py-1.5 text-sm hover:bg-slate-100 dark:hover:bg-slate-800"
        aria-haspopup="true"
        aria-expanded={open}
        aria-controls={menuId}
        onClick={() => setOpen((o) => !o)}
      >
        <IconUser />
        <span className="hidden max-w-[12rem] truncate sm:inline">{me.name}</span>
        <IconChevronDown width={16} height={16} />
      </button>
      {open && (
        <div
          id={menuId}
          className="absolute right-0 z-30 mt-2 w-64 rounded-md border border-slate-200 bg-white p-2 shadow-lg dark:border-slate-700 dark:bg-slate-900"
        >
          <div className="border-b border-slate-200 px-2 pb-2 text-sm dark:border-slate-700">
            <p className="font-medium">{me.name}</p>
            <p className="truncate text-slate-500 dark:text-slate-400">{me.email}</p>
            <p className="text-slate-500 dark:text-slate-400">{ROLE_LABEL[me.role]}</p>
          </div>
          <div className="flex flex-col pt-2">
            <button
              type="button"
              className="rounded px-2 py-2 text-left text-sm hover:bg-slate-100 disabled:opacity-50 dark:hover:bg-slate-800"
              disabled={busy}
              onClick={() => run(false)}
            >
              Log out
            </button>
            <button
              type="button"
              className="rounded px-2 py-2 text-left text-sm hover:bg-slate-100 disabled:opacity-50 dark:hover:bg-slate-800"
              disabled={busy}
              onClick={() => run(true)}
            >
              Log out everywhere
            </button>
          </div>
          {error !== null && <ErrorBox error={error} />}
        </div>
      )}
    </div>
  );
}
