import type { Labels } from '../types.js';

/** A Service selector matches a pod when every key/value of the selector is among the pod's labels. */
export function selectorMatches(selector: Labels, labels: Labels): boolean {
  for (const k of Object.keys(selector)) {
    if (labels[k] !== selector[k]) return false;
  }
  return true;
}

/** "namespace/name" */
export function objectKey(namespace: string, name: string): string {
  // joined, not concatenated: one flat string (a concatenation is a rope of 2-3 objects until first hashed)
  return [namespace, '/', name].join('');
}

/** Whether `key` is objectKey(namespace, name). */
export function isObjectKey(key: string, namespace: string, name: string): boolean {
  return (
    key.length === namespace.length + 1 + name.length &&
    key.charCodeAt(namespace.length) === 47 &&
    key.startsWith(namespace) &&
    key.endsWith(name)
  );
}
