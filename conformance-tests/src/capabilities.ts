import type { AdapterCapabilities, LogicalType } from '@highwater/core';
import type { ConformanceCapabilities, ConformanceCase, ConformanceConfig } from './case.js';
import type { ConformanceHarness } from './harness.js';

/** The capabilities cases are matched against: the adapter's, as the harness declares them, and the harness's own. */
export function capabilitiesOf<O, A>(harness: ConformanceHarness<O, A>): ConformanceCapabilities {
  const caps = harness.capabilities;
  return {
    adapter: harness.adapterCapabilities,
    harness: {
      columnTypes: new Set(caps.columnTypes),
      visibilityLag: caps.visibilityLag !== undefined,
      openConnections: caps.openConnections !== undefined,
      loseLog: harness.loseLogBefore !== undefined,
      truncateTable: harness.truncateTable !== undefined,
      unprivilegedAdapter: harness.createUnprivilegedAdapter !== undefined,
      emptyStringKeys: caps.emptyStringKeys ?? true,
      immutableKeys: caps.immutableKeys ?? false,
      commitTimeResolutionMs: caps.commitTimeResolutionMs ?? 1,
    },
  };
}

/** Throws if `only` or `skip` names a case that does not exist (a typo would silently run or skip the wrong cases). */
export function checkCaseIds<O, A>(config: ConformanceConfig<O, A>, cases: readonly ConformanceCase[]): void {
  const known = new Set(cases.map((c) => c.id));
  const unknown = [...(config.only ?? []), ...Object.keys(config.skip ?? {})].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown conformance case id${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} in only/skip; the cases are: ${[...known].join(', ')}`,
    );
  }
}

/** Why a case does not run under this config, or null when it runs. */
export function skipReason<O, A>(
  c: ConformanceCase,
  config: ConformanceConfig<O, A>,
  capabilities: ConformanceCapabilities,
): string | null {
  if (config.only !== undefined && !config.only.includes(c.id)) return 'not listed in config.only';
  const skipped = config.skip?.[c.id];
  if (skipped !== undefined) return `config.skip: ${skipped}`;
  return c.requires?.(capabilities) ?? null;
}

/** A `requires` for cases that need column kinds: names the missing ones. */
export function needsColumnTypes(...kinds: LogicalType['kind'][]): (caps: ConformanceCapabilities) => string | null {
  return (caps) => {
    const missing = kinds.filter((k) => !caps.harness.columnTypes.has(k));
    return missing.length === 0 ? null : `the harness cannot create ${missing.join(', ')} columns`;
  };
}

/** A `requires` combining several: the first reason wins. */
export function allOf(
  ...requirements: ((caps: ConformanceCapabilities) => string | null)[]
): (caps: ConformanceCapabilities) => string | null {
  return (caps) => {
    for (const r of requirements) {
      const reason = r(caps);
      if (reason !== null) return reason;
    }
    return null;
  };
}

/** A `requires` for an adapter capability flag. */
export function needsAdapter(
  flag: keyof AdapterCapabilities,
  what: string,
): (caps: ConformanceCapabilities) => string | null {
  return (caps) => (caps.adapter[flag] ? null : `the adapter declares capabilities.${flag} false (${what})`);
}

/** Differences between declared and actual adapter capabilities, as `flag: declared → actual`. */
export function capabilityMismatch(declared: AdapterCapabilities, actual: AdapterCapabilities): string[] {
  const keys = new Set([...Object.keys(declared), ...Object.keys(actual)] as (keyof AdapterCapabilities)[]);
  return [...keys].filter((k) => declared[k] !== actual[k]).map((k) => `${k}: ${declared[k]} → ${actual[k]}`);
}
