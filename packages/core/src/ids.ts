import { createHash, randomUUID } from 'node:crypto';

/** Video ids are UUIDs: unguessable, and safe as BullMQ job-id and directory components. */
export const newVideoId = (): string => randomUUID();

export const isVideoId = (s: string): boolean => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);

/** API keys are never stored; their SHA-256 identifies the owner of videos and webhooks. */
export const apiKeyOwner = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 32);
