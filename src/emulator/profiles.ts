import { type CostParams, ZERO_COST } from './cost-model.js';

/**
 * Named cost-model profiles. "zero" charges nothing, for measuring scorecar's own ceiling.
 * Calibrated GPU profiles (derived from model shapes) are added by the calibration work.
 */
const PROFILES: Record<string, CostParams> = {
  zero: ZERO_COST,
};

export const PROFILE_NAMES = Object.keys(PROFILES);

export function profileCost(name: string): CostParams | undefined {
  const p = PROFILES[name];
  return p ? { ...p } : undefined;
}
