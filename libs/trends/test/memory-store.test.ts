import { createMemoryTrendsStore } from '../src/memory-store';
import { storeContract } from './store-contract';

storeContract('memory', async () => ({ store: createMemoryTrendsStore(), cleanup: async () => undefined }));
