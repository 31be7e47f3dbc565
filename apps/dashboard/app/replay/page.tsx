import type { Metadata } from 'next';
import { ReplayView } from '../../src/ui/ReplayView';

export const metadata: Metadata = { title: 'moodstream · replay' };

export default function ReplayPage() {
  return <ReplayView />;
}
