/** Control loops: the traffic shaper (admission by token budget and deadline) and the ranking-depth controller. */
export { AimdBudget, type AimdBudgetOptions, type BudgetLimiter, StaticBudget } from './budget.js';
export { type ControlClock, type TimerHandle, deadlineAfter, expiredInFlight, remainingMs, systemClock } from './clock.js';
export { DepthController, type DepthControllerOptions, type DepthSignal } from './depth-controller.js';
export { type DepthSimOptions, type DepthSimPoint, defaultLoadProfile, simulateDepthControl } from './depth-sim.js';
export { Pid, type PidOptions } from './pid.js';
export { PRIORITIES, type Priority, parsePriority } from './priority.js';
export { DeadlineExceededInFlight, type RefusalReason, ShaperRefused } from './shaper-errors.js';
export { type ShapingSimOptions, type ShapingSimResult, type SimBackendOptions, simulateShaping } from './shaping-sim.js';
export { type AdmissionTicket, type CancelHook, type ShaperStats, TrafficShaper, type TrafficShaperOptions } from './traffic-shaper.js';
export { VirtualClock } from './virtual-clock.js';
export { WindowQuantile } from './window-quantile.js';
