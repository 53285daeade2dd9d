/**
 * The states of a record batch's records checksum while {@linkcode compressRecordBatch} turns
 * a finished, still uncompressed batch into the bytes that go out. Internal: not exported from
 * `protocol/mod.ts`.
 *
 * The state travels in a two-word `Uint32Array` scratch (`crc`): `crc[0]` holds a CRC-32C,
 * `crc[1]` one of the {@linkcode RecordsCrc} states below, which says what `crc[0]` means and
 * whether the batch still goes out compressed. A typed array and not a returned object, so the
 * codecs report it without allocating per batch.
 *
 * Who moves it where, in order (`compressRecordBatch` in record_batch_builder.ts drives it):
 *
 * 1. `compressWithHeadroom` (compression/mod.ts) starts every call at
 *    {@linkcode RecordsCrc.Unknown}; for lz4 it sets {@linkcode RecordsCrc.Compressed} (lz4
 *    checksums its frame as it writes it), the other codecs leave `Unknown`.
 * 2. `compressBatchRecords` (compression/mod.ts), for lz4 only, sets
 *    {@linkcode RecordsCrc.PlainKnown} when lz4 found every block incompressible and wrote the
 *    records as they are (`crc[0]` their CRC: the builder's, or computed while copying), else
 *    `Compressed`.
 * 3. `compressRecordBatch`, when the codec's output is no smaller than the records (any codec;
 *    lz4 in `PlainKnown` has decided that already and is left alone), sends the records as
 *    they are: {@linkcode RecordsCrc.PlainKnown} with `crc[0]` set to the builder's
 *    `recordsCrc()` when it was given, else {@linkcode RecordsCrc.PlainUnknown}.
 * 4. `compressRecordBatch` then reads the state: `PlainKnown` and `PlainUnknown` clear the
 *    codec bits of the attributes (the batch goes out uncompressed); `Compressed` and
 *    `PlainKnown` combine the header's CRC with `crc[0]` (no pass over the records);
 *    `Unknown` and `PlainUnknown` checksum the whole result.
 *
 * @module
 */

/**
 * The states of `crc[1]` (see the module documentation for who sets which).
 *
 * @example
 * ```ts ignore
 * import { RecordsCrc } from "./records_crc.ts";
 * const crc = new Uint32Array(2);
 * crc[1] = RecordsCrc.Unknown;
 * console.log(crc[1] === RecordsCrc.Unknown); // true
 * ```
 */
export const RecordsCrc = {
  /**
   * `crc[0]` means nothing; the batch goes out compressed and its CRC is computed over the
   * compressed bytes. Set by `compressWithHeadroom` for every codec (gzip, snappy and zstd
   * keep it).
   */
  Unknown: 0,
  /**
   * The batch goes out compressed and `crc[0]` is the CRC-32C of the compressed records (the
   * bytes after the header's headroom): lz4 computes it while it writes its frame. Set by
   * `compressWithHeadroom` and `compressBatchRecords` for lz4.
   */
  Compressed: 1,
  /**
   * The batch goes out uncompressed and `crc[0]` is the CRC-32C of its records. Set by
   * `compressBatchRecords` when lz4 stored every block raw, and by `compressRecordBatch` when
   * any other codec did not shrink the records and the builder's `recordsCrc()` was given.
   */
  PlainKnown: 2,
  /**
   * The batch goes out uncompressed and its records' CRC is not known: `compressRecordBatch`
   * checksums the whole batch. Set only by `compressRecordBatch`, when compressing did not
   * shrink the records and no `recordsCrc` was given.
   */
  PlainUnknown: 3,
} as const;

/** One of the {@linkcode RecordsCrc} states. */
export type RecordsCrcState = typeof RecordsCrc[keyof typeof RecordsCrc];
