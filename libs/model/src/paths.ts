import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of libs/model (resolved from this file so it works from any cwd). */
export const MODEL_PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The trained model shipped with the repository: models/default at the workspace root. */
export const DEFAULT_MODEL_DIR = path.resolve(MODEL_PACKAGE_DIR, '..', '..', 'models', 'default');

/** The image backbones exported to ONNX (npm run model:export-backbone): models/backbone at the workspace root. */
export const BACKBONE_MODEL_DIR = path.resolve(MODEL_PACKAGE_DIR, '..', '..', 'models', 'backbone');
