// The package's entry point: the BudgetGuard construct and what a stack embedding it may need.
export { BudgetGuard, type BudgetGuardProps } from './budget-guard';
export { GuardAlarms, type GuardAlarmsProps } from './alarms';
export { FastPath, type FastPathOptions } from './fast-path';
export { BudgetActionResources, DENIED_BEDROCK_ACTIONS } from './budget-action';
export { FUNCTION_NAMES, type FunctionName } from './iam';
export { METRICS_NAMESPACE } from './metrics';
export { PolicyValidationError, CliError } from './cli';
export type { ExportedPolicy, LoadedPolicy } from './policy';
