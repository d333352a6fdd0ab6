export type { BuildHierarchyOptions, HierarchyNode, LevelDefinition } from './hierarchy.js';
export { buildHierarchy, findNode, HIERARCHY_PRESETS, MISSING_VALUE } from './hierarchy.js';
export type { NavigatorOptions } from './navigator.js';
export { DrillDownNavigator, navigationContextId } from './navigator.js';
export type { Breadcrumb, NavigationState } from './state.js';
export { back, breadcrumbs, drillDown, initialNavigationState, jumpTo, rollUp } from './state.js';
