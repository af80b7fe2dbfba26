import { access } from 'node:fs/promises';

/** Whether `path` exists (any kind of entry); an unreadable parent counts as absent. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
