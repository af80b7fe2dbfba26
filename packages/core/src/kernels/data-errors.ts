/**
 * Errors about the values in a kernel's storages (not its arguments): an id or a target out of
 * range. Every backend reports them with the same code and wording, whether it finds the bad value
 * at the call (the CPU) or a kernel flags it on the device and the next `read` or `sync` reports
 * it (WebGPU, CUDA). The codes are the CUDA addon's KernelFlag values (csrc/internal.h), whose
 * runtime words them identically.
 */
export const DATA_ERROR = { gatherId: 1, scatterId: 2, target: 3 } as const;

export type DataErrorCode = (typeof DATA_ERROR)[keyof typeof DATA_ERROR];

/** The error a kernel's bad value gives on every backend. */
export function dataError(code: number, value: number): RangeError {
  switch (code) {
    case DATA_ERROR.gatherId:
      return new RangeError(`gatherRows: id ${value} is out of range for the table (expected 0 <= id < rows)`);
    case DATA_ERROR.scatterId:
      return new RangeError(`scatterAddRows: id ${value} is out of range for the output (expected 0 <= id < rows)`);
    case DATA_ERROR.target:
      return new RangeError(
        `crossEntropy: target ${value} is out of range (expected 0 <= target < cols, or the ignore index)`,
      );
    default:
      return new RangeError(`a kernel flagged unknown error code ${code} (value ${value})`);
  }
}
