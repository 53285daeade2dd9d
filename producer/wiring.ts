/**
 * The calls that come back up between the producer's parts, in one place. Each part takes a
 * small hook interface (`AccumulatorHooks`, `MetadataEvents`, `IdempotenceHooks`,
 * `TransactionHooks`, `SenderHooks`, `IntakeHost`); {@linkcode ProducerWiring} implements all
 * of them, so "who calls `Sender.wake`" (or `Intake.pump`) is answered by this file alone.
 *
 * @module
 */

import { sleep } from "../cluster/retry.ts";
import { abortReason, ClosedError } from "../protocol/errors.ts";
import type { AccumulatorHooks } from "./accumulator.ts";
import type { Accumulator } from "./accumulator.ts";
import type { PartitionState, ProducerBatch, TopicState } from "./batch.ts";
import type { IdempotenceHooks } from "./idempotence.ts";
import type { Intake, IntakeHost } from "./intake.ts";
import type { MetadataEvents } from "./metadata.ts";
import type { Sender, SenderHooks } from "./sender.ts";
import type { TransactionHooks, TransactionManager } from "./transaction_manager.ts";

/** Where a producer is in its life. */
export type ProducerState = "open" | "closing" | "closed";

/** The parts the wiring connects, bound once they exist (the sender is made last). */
export interface WiredParts {
  readonly accumulator: Accumulator;
  readonly intake: Intake;
  readonly sender: Sender;
  readonly transactions: TransactionManager | undefined;
}

/**
 * The producer's state and every call-back between its parts. Made first (the parts take it
 * as their hooks), then {@linkcode ProducerWiring.bind | bound} to the parts.
 */
export class ProducerWiring
  implements
    AccumulatorHooks,
    MetadataEvents,
    IdempotenceHooks,
    TransactionHooks,
    SenderHooks,
    IntakeHost {
  /** The producer's state: `Producer.close`/`abort` move it on. */
  state: ProducerState = "open";
  #parts: WiredParts | undefined;

  /** Connects the parts; called once by the producer's constructor. */
  bind(parts: WiredParts): void {
    this.#parts = parts;
  }

  get #p(): WiredParts {
    return this.#parts!;
  }

  // -- AccumulatorHooks, IdempotenceHooks, TransactionHooks

  /**
   * Something changed that the sender must look at: a batch is ready (accumulator), a producer
   * id arrived or an epoch was bumped (idempotence), partitions were added or a transaction
   * ended (transaction manager). Runs the sender as a microtask.
   */
  wake(): void {
    this.#p.sender.wake();
  }

  // -- AccumulatorHooks

  /** The accumulator opened a batch for `partition`: the sender arms its linger timer. */
  opened(partition: PartitionState, lingerEndsAt: number): void {
    this.#p.sender.opened(partition, lingerEndsAt);
  }

  /** A compression worker lost `batch` (it died, or the producer closed): fail it. */
  lost(batch: ProducerBatch, error: Error): void {
    this.#p.sender.fail(batch, error);
    this.#p.sender.wake();
  }

  // -- MetadataEvents

  /** A topic's metadata arrived: records waiting for it go into batches, and may be sent. */
  ready(_topic: TopicState): void {
    this.#p.intake.pump();
    this.#p.sender.wake();
  }

  /** A topic cannot be had: the records waiting for it fail. */
  failed(topic: TopicState, error: Error): void {
    this.#p.intake.failWaiting(error, topic.name);
  }

  /** A metadata refresh ended: leaders may have moved, so the sender looks again. */
  refreshed(): void {
    this.#p.sender.wake();
  }

  // -- IdempotenceHooks

  /** No producer id could be had (idempotence): batches not being sent fail. */
  failUnsent(error: Error): void {
    this.#p.sender.failUnsent(error);
  }

  /** Records of the transaction were sent but never acknowledged (idempotence): abort it. */
  abortTransaction(error: Error): void {
    this.#p.transactions?.failed(error);
  }

  // -- TransactionHooks

  /** Runs the sender now (transaction manager: an abort fails at once what was not sent). */
  drain(): void {
    this.#p.sender.drain();
  }

  /**
   * Waits until every record accepted so far is acknowledged or failed, without waiting for
   * the linger (`Producer.flush`, `close`, and the transaction manager before EndTxn).
   */
  async flush(signal: AbortSignal | undefined): Promise<void> {
    const { accumulator, intake, sender } = this.#p;
    sender.flushing++;
    try {
      sender.drain();
      while (intake.length > 0 || accumulator.incomplete.size > 0) {
        if (signal?.aborted) throw abortReason(signal);
        if (accumulator.incomplete.size === 0) {
          // Records wait for metadata: poll until they are in batches or failed.
          await sleep(5, signal);
          continue;
        }
        const pending = [...accumulator.incomplete].map((b) => sender.whenDone(b));
        sender.drain();
        if (signal) {
          // The listener comes off once the batches are done: a long-lived signal (an
          // application's shutdown signal, passed to every flush) would keep one per wait.
          await new Promise<void>((resolve, reject) => {
            const onAbort = () => reject(abortReason(signal));
            signal.addEventListener("abort", onAbort, { once: true });
            Promise.all(pending).then(() => {
              signal.removeEventListener("abort", onAbort);
              resolve();
            });
          });
        } else await Promise.all(pending);
      }
    } finally {
      sender.flushing--;
    }
  }

  // -- TransactionHooks, SenderHooks

  /** Whether the producer is open: the sender hurries every batch once it is not. */
  isOpen(): boolean {
    return this.state === "open";
  }

  // -- SenderHooks

  /** A batch completed and freed budget (sender): records waiting for it may be batched. */
  released(): void {
    if (this.#p.intake.length > 0) this.#p.intake.pump();
  }

  /** Everything is being failed (sender): records waiting to be batched fail too. */
  failWaiting(error: Error): void {
    this.#p.intake.failWaiting(error);
  }

  // -- IntakeHost

  /** Why a record may not be appended now, if it may not (see `IntakeHost.refusal`). */
  refusal(fromIntake: boolean): Error | undefined {
    if (this.state !== "open" && !(fromIntake && this.state === "closing")) {
      return new ClosedError("producer");
    }
    return this.#parts?.transactions?.refusal(fromIntake);
  }
}
