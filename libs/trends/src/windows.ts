/**
 * Window sizes and bucket arithmetic now live in @moodstream/events, where the browser can share them; re-exported
 * under their old names so existing importers of this module keep compiling.
 */
export { WINDOW_SIZES, bucketCount, bucketStart, bucketStarts } from '@moodstream/events';
