/** Priority classes: online (interactive search) is always admitted before nearline (alerts). */
export type Priority = 'online' | 'nearline';

export const PRIORITIES: readonly Priority[] = ['online', 'nearline'];

/** Parses the x-scorecar-priority header or a request field; absent means online. */
export function parsePriority(value: string | undefined | null): Priority | null {
  if (value === undefined || value === null || value === '') return 'online';
  const v = value.trim().toLowerCase();
  return v === 'online' || v === 'nearline' ? v : null;
}
