// ImageReconciler keeps an Image resource's reference present on the Docker engine per its pull
// policy and reports what is there. Deleting an Image resource does not remove the image: images
// are shared by containers, and Docker's own `image prune` is the tool for that.

import { parseResourceKey } from '../../resources/kinds.ts';
import { silentLogger, type Logger } from '../../resources/log.ts';
import type { ResourceStore } from '../../resources/store.ts';
import type { ResourceStatus } from '../../resources/types.ts';
import {
  beginStatus,
  clearCondition,
  ConditionType,
  markReady,
  setCondition,
  TerminalError,
  type EventRecorder,
  type Reconciler,
  type Result,
} from '../runtime/index.ts';
import type { DockerEngine, ImageObservation } from '../container/engine.ts';
import { selectorMatches, type LabelSelector, type PullPolicy } from '../container/spec.ts';
import { ensureImage } from './apply.ts';
import { digestOf, observeImage } from './observe.ts';

/** ImageSpec is the desired state of an Image resource. */
export interface ImageSpec {
  reference: string;
  pullPolicy?: PullPolicy;
  suspend?: boolean;
  hostSelector?: LabelSelector;
}

/** ImageReconcilerOptions configure an ImageReconciler. */
export interface ImageReconcilerOptions {
  store: ResourceStore;
  engine: DockerEngine;
  logger?: Logger;
  recorder?: EventRecorder;
  hostLabels?: () => Record<string, string> | undefined;
  now?: () => Date;
}

/** ImageReconciler is the Reconciler of the Image kind. */
export class ImageReconciler implements Reconciler {
  private readonly opts: ImageReconcilerOptions;
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(opts: ImageReconcilerOptions) {
    this.opts = opts;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
  }

  /** reconcile makes `Image/<name>` present; failures throw (the runtime backs off and writes the condition). */
  async reconcile(key: string, signal: AbortSignal): Promise<Result> {
    const { kind } = parseResourceKey(key);
    if (kind !== 'Image') throw new TerminalError('WrongKind', `the image controller cannot reconcile ${key}`);
    const patch = beginStatus(this.opts.store, key, { now: this.now });
    if (!patch) return {};
    const spec = patch.object.spec as unknown as ImageSpec;
    const st = patch.status;
    try {
      const labels = spec.hostSelector ? this.opts.hostLabels?.() : undefined;
      if (spec.hostSelector && labels && !selectorMatches(spec.hostSelector, labels)) {
        markReady(st, 'HostNotSelected', "spec.hostSelector does not match this host's labels: nothing to do here", patch);
        return {};
      }
      if (spec.suspend) {
        const image = await observeImage(this.opts.engine, spec.reference, signal);
        setImageFields(st, image, spec.reference);
        setCondition(st, { type: ConditionType.Ready, status: 'Unknown', reason: 'Suspended', message: 'spec.suspend is true: the controller pulls nothing' }, patch);
        clearCondition(st, ConditionType.Reconciling);
        clearCondition(st, ConditionType.Stalled);
        return {};
      }
      const policy = spec.pullPolicy ?? 'IfNotPresent';
      const { image, pulledAt } = await ensureImage(this.opts.engine, spec.reference, policy, signal, this.now);
      setImageFields(st, image, spec.reference);
      if (pulledAt) {
        st.pulledAt = pulledAt;
        this.opts.recorder?.record(key, 'Normal', 'Pulled', `pulled ${spec.reference} (${image.id.slice(7, 19)})`);
        this.log.info('image pulled', { reference: spec.reference, id: image.id });
      }
      markReady(st, 'Present', `${spec.reference} is present (${image.id.slice(7, 19)}, pullPolicy ${policy})`, patch);
      return {};
    } catch (err) {
      // Keep what the engine shows (a pull can fail while an older copy is present); the runtime
      // adds Ready=False with the error's reason (ImagePullFailed, ImageNotPresent, DockerUnavailable).
      const image = await observeImage(this.opts.engine, spec.reference, signal).catch(() => undefined);
      setImageFields(st, image, spec.reference);
      throw err;
    } finally {
      patch.commit();
    }
  }
}

function setImageFields(st: ResourceStatus, image: ImageObservation | undefined, reference: string): void {
  if (!image) {
    delete st.id;
    delete st.digest;
    delete st.size;
    return;
  }
  st.id = image.id;
  st.size = image.size;
  const digest = digestOf(image, reference);
  if (digest) st.digest = digest;
  else delete st.digest;
}
