import { Dashboard } from '../src/ui/Dashboard';

export default function LivePage() {
  return <Dashboard />;
}
