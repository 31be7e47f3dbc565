import type { RawTumblrPost } from './fixtures';

/**
 * Neue Post Format fixtures, written for this project from the shapes the public NPF specification describes
 * (content blocks, media objects, layouts, the reblog trail), and their legacy rendering: what `/tagged` answers
 * without `npf=true` for a post made in the apps — legacy `text` whose HTML body carries each image as a
 * `<figure><img srcset …>`. Image URLs use the stand-in's `{{base}}` placeholder.
 */
export type NpfBlock = Record<string, unknown>;

export interface NpfPostInput {
  id: bigint;
  timestamp: number;
  tags: string[];
  content: NpfBlock[];
  layout?: Record<string, unknown>[];
  trail?: Record<string, unknown>[];
  blog?: string;
}

export function npfPost(input: NpfPostInput): RawTumblrPost {
  const idString = input.id.toString();
  const blog = input.blog ?? `npfblog${Number(input.id % 997n)}`;
  return {
    object_type: 'post',
    type: 'blocks',
    is_blocks_post_format: true,
    id: Number(idString),
    id_string: idString,
    blog_name: blog,
    blog: { name: blog, url: `https://${blog}.tumblr.com/` },
    post_url: `https://${blog}.tumblr.com/post/${idString}`,
    timestamp: input.timestamp,
    tags: input.tags,
    note_count: 3,
    content: input.content,
    layout: input.layout ?? [],
    trail: input.trail ?? [],
  };
}

/** A media list of the sizes Tumblr serves an image at, largest first (every rendition keeps the ratio). */
export function mediaSizes(name: string, width = 1280, height = 960): Record<string, unknown>[] {
  return [1280, 640, 500, 400, 250, 100]
    .filter((w) => w <= width)
    .map((w) => ({ url: `{{base}}/images/${name}_${w}x${Math.round((w * height) / width)}.jpg`, type: 'image/jpeg', width: w, height: Math.round((w * height) / width) }));
}

export const imageBlock = (name: string, extra: Record<string, unknown> = {}): NpfBlock => ({ type: 'image', media: mediaSizes(name), ...extra });
export const textBlock = (text: string, subtype?: string): NpfBlock => ({ type: 'text', text, ...(subtype === undefined ? {} : { subtype }) });

/** One post per content block type and layout the specification describes, each with the words a parser must find. */
export function npfShapes(firstId: bigint, timestamp: number, tag: string): { name: string; post: RawTumblrPost; text: string; image: string | null }[] {
  let next = firstId;
  const make = (name: string, content: NpfBlock[], expect: { text: string; image: string | null }, more: Partial<NpfPostInput> = {}) => {
    const id = next++;
    return { name, post: npfPost({ id, timestamp: timestamp - Number(id - firstId), tags: [tag], content, ...more }), ...expect };
  };
  const chosen = (name: string): string => `{{base}}/images/${name}_400x300.jpg`;
  return [
    make(
      'text subtypes',
      [
        textBlock('A long week at work', 'heading1'),
        textBlock('and the weather finally turned', 'heading2'),
        textBlock('we walked along the river', 'quirky'),
        textBlock('nothing is lost forever', 'quote'),
        textBlock('my sister said that first', 'indented'),
        textBlock('me: are you coming home', 'chat'),
        textBlock('bread', 'ordered-list-item'),
        textBlock('coffee', 'unordered-list-item'),
      ],
      { text: 'A long week at work\nand the weather finally turned\nwe walked along the river\nnothing is lost forever\nmy sister said that first\nme: are you coming home\nbread\ncoffee', image: null },
    ),
    make('image with alt text and caption', [imageBlock('npfalt', { alt_text: 'a dog asleep in the sun', caption: 'my old dog this morning' })], {
      text: 'a dog asleep in the sun\nmy old dog this morning',
      image: chosen('npfalt'),
    }),
    make(
      'link with a poster',
      [
        textBlock('this made my whole day better'),
        { type: 'link', url: 'https://example.test/story', title: 'Town choir sings again', description: 'After two quiet years the choir is back', poster: mediaSizes('npflink') },
      ],
      { text: 'this made my whole day better\nTown choir sings again\nAfter two quiet years the choir is back', image: chosen('npflink') },
    ),
    make('audio with a poster', [{ type: 'audio', provider: 'tumblr', title: 'Quiet morning song', artist: 'The River Band', album: 'Home', media: { url: '{{base}}/audio/a.mp3', type: 'audio/mpeg' }, poster: mediaSizes('npfaudio') }], {
      text: 'Quiet morning song\nThe River Band\nHome',
      image: chosen('npfaudio'),
    }),
    make('video with a poster', [{ type: 'video', provider: 'tumblr', url: 'https://example.test/v.mp4', media: { url: '{{base}}/video/v.mp4', type: 'video/mp4', width: 640, height: 480 }, poster: mediaSizes('npfvideo') }, textBlock('watch my cat meet the new puppy')], {
      text: 'watch my cat meet the new puppy',
      image: chosen('npfvideo'),
    }),
    make(
      'ask layout: the question first, then the answer',
      [textBlock('yes and I was so happy about it'), textBlock('did you finally get the new job?')],
      { text: 'did you finally get the new job?\nyes and I was so happy about it', image: null },
      { layout: [{ type: 'ask', blocks: [1], attribution: { type: 'blog', blog: { name: 'asker' } } }] },
    ),
    make(
      'rows and truncate layouts: rows give the reading order, truncation hides nothing',
      [imageBlock('npfrows1'), imageBlock('npfrows2'), textBlock('two photos from the trip home')],
      { text: 'two photos from the trip home', image: chosen('npfrows2') },
      { layout: [{ type: 'rows', display: [{ blocks: [2] }, { blocks: [1, 0] }], truncate_after: 1 }] },
    ),
    make(
      'reblog with its own words: only the reblogger’s words count',
      [textBlock('this is exactly how I feel today')],
      { text: 'this is exactly how I feel today', image: null },
      { trail: [{ post: { id: '1' }, blog: { name: 'original' }, content: [textBlock('the original words that were reblogged'), imageBlock('npftrail')], layout: [] }] },
    ),
    make(
      'bare reblog: the trail is what the user posted',
      [],
      { text: 'the original words that were reblogged', image: chosen('npftrail2') },
      { trail: [{ post: { id: '2' }, blog: { name: 'original' }, content: [textBlock('the original words that were reblogged'), imageBlock('npftrail2')], layout: [] }] },
    ),
  ];
}

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function figure(block: NpfBlock): string {
  const media = Array.isArray(block['media']) ? (block['media'] as Record<string, unknown>[]) : [];
  const original = media[0];
  if (original === undefined) return '';
  const dims = `data-orig-height="${String(original['height'])}" data-orig-width="${String(original['width'])}"`;
  const srcset = media.map((m) => `${String(m['url'])} ${String(m['width'])}w`).join(', ');
  const alt = typeof block['alt_text'] === 'string' ? ` alt="${escapeHtml(block['alt_text'])}"` : '';
  const src = String((media.find((m) => m['width'] === 640) ?? original)['url']);
  const caption = typeof block['caption'] === 'string' ? `<figcaption>${escapeHtml(block['caption'])}</figcaption>` : '';
  return `<figure class="tmblr-full" ${dims}><img src="${src}" ${dims} srcset="${srcset}"${alt}/>${caption}</figure>`;
}

/**
 * The legacy answer for an NPF post made in the apps: `type: "text"`, its blocks as HTML in the body (text as
 * paragraphs, images as figures with every rendition in `srcset`), NPF fields removed.
 */
export function legacyRendering(post: RawTumblrPost): RawTumblrPost {
  const content = Array.isArray(post['content']) ? (post['content'] as NpfBlock[]) : [];
  const body = content
    .map((block) => {
      if (block['type'] === 'text') return `<p>${escapeHtml(String(block['text'] ?? ''))}</p>`;
      if (block['type'] === 'image') return figure(block);
      return '';
    })
    .join('');
  const legacy: RawTumblrPost = { ...post, type: 'text', format: 'html', title: null, body };
  for (const key of ['object_type', 'is_blocks_post_format', 'content', 'layout', 'trail']) delete legacy[key];
  return legacy;
}
