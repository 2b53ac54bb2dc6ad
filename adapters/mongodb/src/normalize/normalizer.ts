import { UnsupportedError } from '@highwater/core';
import type { LogReadRequest } from '@highwater/core';
import type { MongoClient } from 'mongodb';
import type { Endpoint } from '../errors.js';
import type { ImageSource } from '../log/log-reader.js';
import type { MongoOffset } from '../offsets/mongo-offset.js';
import type { ResolvedOptions } from '../options.js';

/** Changelog `normalize` (the disk-backed last-image store) is not implemented yet: refused clearly rather than approximated. */
export async function openNormalizer(
  _client: MongoClient,
  _at: Endpoint,
  _options: ResolvedOptions,
  _request: LogReadRequest<MongoOffset>,
): Promise<ImageSource> {
  throw new UnsupportedError(
    "mongodb: changelog 'normalize' is not available yet: use 'preImages' (enable changeStreamPreAndPostImages on the collections) or 'upsert'",
  );
}
