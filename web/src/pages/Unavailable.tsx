import { Link } from 'react-router-dom';
import { Card } from '../components/ui';

export function NotAvailable() {
  return (
    <Card className="mx-auto mt-8 max-w-md text-center">
      <h1 className="mb-2 text-lg font-semibold">Not available for your role</h1>
      <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">This screen is for other kinds of accounts.</p>
      <Link to="/" className="link">
        Back to the dashboard
      </Link>
    </Card>
  );
}

export function NotFound() {
  return (
    <Card className="mx-auto mt-8 max-w-md text-center">
      <h1 className="mb-2 text-lg font-semibold">Page not found</h1>
      <p className="mb-4 text-sm text-slate-600 dark:text-slate-400">There is nothing at this address.</p>
      <Link to="/" className="link">
        Back to the dashboard
      </Link>
    </Card>
  );
}
