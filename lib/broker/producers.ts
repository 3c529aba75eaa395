import { EventLogError } from '../log/errors.js';
import { MAX_EPOCH } from '../log/producer-state.js';
import { isResourceName, RESOURCE_NAME_RULE } from '../log/resource-name.js';
import type { ProducerRegistration, ProducerStore } from '../store/producer-store.js';
import { type Clock, systemClock } from './clock.js';
import { DEFAULT_IDEMPOTENCE_OPTIONS } from './produce.js';

export interface InitProducerRequest {
  /**
   * Like Kafka's transactional.id: a stable name for a producer across restarts. Initializing
   * a name again keeps its id and bumps the epoch, fencing the instance that had it.
   */
  name?: string;
  /** Re-initialization of a known id (KIP-360): bumps the epoch if it is still this one. */
  producerId?: number;
  producerEpoch?: number;
}

export interface InitProducerResult {
  producerId: number;
  producerEpoch: number;
}

/**
 * Issues producer ids and epochs (Kafka's InitProducerId). An id comes from an atomic
 * counter; every initialization of an existing id or name bumps its epoch, so the previous
 * holder's writes are refused from then on (PRODUCER_FENCED).
 */
export class ProducerService {
  private readonly clock: Clock;
  private readonly lifetimeSeconds: number;

  constructor(
    private readonly store: ProducerStore,
    options: { clock?: Clock; registrationExpirationMs?: number } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.lifetimeSeconds = Math.ceil(
      (options.registrationExpirationMs ?? DEFAULT_IDEMPOTENCE_OPTIONS.registrationExpirationMs) /
        1000,
    );
  }

  async init(request: InitProducerRequest = {}): Promise<InitProducerResult> {
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    const expiresAt = nowSeconds + this.lifetimeSeconds;
    const { name, producerId, producerEpoch } = request;
    if (name !== undefined && !isResourceName(name)) {
      throw new EventLogError(
        'INVALID_REQUEST',
        `A producer name is ${RESOURCE_NAME_RULE}, got ${JSON.stringify(name)}`,
      );
    }
    if (producerEpoch !== undefined && producerId === undefined) {
      throw new EventLogError('INVALID_REQUEST', 'producerEpoch needs a producerId');
    }
    if (producerId !== undefined) {
      if (!Number.isSafeInteger(producerId) || producerId < 1) {
        throw new EventLogError('INVALID_REQUEST', `Not a producer id: ${producerId}`);
      }
      const bumped = await this.store.bumpEpoch(producerId, producerEpoch, expiresAt, nowSeconds);
      return this.result(bumped, expiresAt, nowSeconds);
    }
    if (name !== undefined) {
      const existing = await this.store.named(name, nowSeconds);
      if (existing !== undefined) {
        const bumped = await this.bumpIfLive(existing, expiresAt, nowSeconds);
        if (bumped !== undefined) return this.result(bumped, expiresAt, nowSeconds);
      }
      const registered = await this.store.register(expiresAt, name);
      const bound = await this.store.bindName(
        name,
        registered.producerId,
        expiresAt,
        nowSeconds,
        existing,
      );
      if (bound === registered.producerId) return this.result(registered, expiresAt, nowSeconds);
      // Another instance registered the name at the same moment: the later one must fence
      // the earlier, so take that id with a new epoch.
      const bumped = await this.store.bumpEpoch(bound, undefined, expiresAt, nowSeconds);
      return this.result(bumped, expiresAt, nowSeconds);
    }
    return this.result(await this.store.register(expiresAt), expiresAt, nowSeconds);
  }

  private async bumpIfLive(
    producerId: number,
    expiresAt: number,
    nowSeconds: number,
  ): Promise<ProducerRegistration | undefined> {
    try {
      return await this.store.bumpEpoch(producerId, undefined, expiresAt, nowSeconds);
    } catch (error) {
      if (error instanceof EventLogError && error.code === 'UNKNOWN_PRODUCER_ID') return undefined;
      throw error;
    }
  }

  /** Kafka starts over with a new id when the int16 epoch runs out. */
  private async result(
    registration: ProducerRegistration,
    expiresAt: number,
    nowSeconds: number,
  ): Promise<InitProducerResult> {
    if (registration.epoch <= MAX_EPOCH) {
      return { producerId: registration.producerId, producerEpoch: registration.epoch };
    }
    const fresh = await this.store.register(expiresAt, registration.name);
    if (registration.name !== undefined) {
      await this.store.bindName(
        registration.name,
        fresh.producerId,
        expiresAt,
        nowSeconds,
        registration.producerId,
      );
    }
    return { producerId: fresh.producerId, producerEpoch: fresh.epoch };
  }
}
