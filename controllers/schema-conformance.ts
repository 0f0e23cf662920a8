// Type-level conformance of the controllers' spec views with the JSON Schemas. The schemas are the
// single source of truth; scripts/gen-types.mjs turns them into types (resources/generated/, made by
// `npm ci`), and this file fails `npm run typecheck` when a view stops matching them: every
// schema-valid spec must be assignable to the view the controller reads it through. Nothing here
// runs; it only compiles.

import type { Container } from '../resources/generated/container.ts';
import type { Image } from '../resources/generated/image.ts';
import type { Package } from '../resources/generated/package.ts';
import type { HealthProbe } from '../resources/generated/healthprobe.ts';
import type { AccessToken } from '../resources/generated/accesstoken.ts';
import type { OutputPreference } from '../resources/generated/outputpreference.ts';
import type { ContainerSpec } from './container/spec.ts';
import type { ImageSpec } from './image/reconciler.ts';
import type { PackageSpec } from './package/apply.ts';
import type { HealthProbeSpec } from './probe/spec.ts';
import type { AccessTokenSpec } from './token/tokens.ts';
import type { OutputPreferenceSpec } from './output/resolver.ts';

/** Conforms is `true` when every value of Schema is assignable to View, and a type error otherwise. */
type Conforms<Schema, View> = [Schema] extends [View] ? true : never;

/**
 * SCHEMA_CONFORMANCE lists one check per kind; a mismatch makes the `true` below a type error.
 * Proposal is left out on purpose: the schema types `changes[].object` loosely (any kind) and the
 * proposal service validates each object against its own kind's schema before it is stored.
 */
export const SCHEMA_CONFORMANCE: {
  container: Conforms<Container['spec'], ContainerSpec>;
  image: Conforms<Image['spec'], ImageSpec>;
  package: Conforms<Package['spec'], PackageSpec>;
  healthProbe: Conforms<HealthProbe['spec'], HealthProbeSpec>;
  accessToken: Conforms<AccessToken['spec'], AccessTokenSpec>;
  outputPreference: Conforms<OutputPreference['spec'], OutputPreferenceSpec>;
} = { container: true, image: true, package: true, healthProbe: true, accessToken: true, outputPreference: true };
