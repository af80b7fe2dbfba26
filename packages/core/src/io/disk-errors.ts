/** File-system errors that mean the disk cannot take a write: full, read-only, refused or failing. */
const DISK_ERROR_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EFBIG']);

/** The error's code when it is such a disk error, else undefined. */
export function diskErrorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code && DISK_ERROR_CODES.has(code) ? code : undefined;
}
