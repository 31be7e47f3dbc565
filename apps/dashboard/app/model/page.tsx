import type { Metadata } from 'next';
import { ModelPage } from '../../src/ui/ModelPage';

export const metadata: Metadata = { title: 'moodstream · model' };

export default function ModelRoute() {
  return <ModelPage />;
}
