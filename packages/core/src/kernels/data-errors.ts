/**
 * Errors about the values in a kernel's storages (not its arguments): an id or a target out of
 * range. Every backend words them with these functions, so the same bad data gives the same error
 * whether a backend finds it at the call (the CPU) or reports it at the next read or sync (GPUs).
 */

/** `ids[i] = v` is not a row index of a table (or output) with `rows` rows. */
export function idOutOfRange(kernel: string, index: number, value: number, rows: number): RangeError {
  const of = kernel === 'gatherRows' ? "the table's" : "the output's";
  return new RangeError(`${kernel}: ids[${index}] = ${value} is outside ${of} rows 0..${rows - 1}`);
}

/** `targets[r] = t` is neither a class of `cols` nor the ignore index. */
export function targetOutOfRange(
  kernel: string,
  index: number,
  value: number,
  cols: number,
  ignoreIndex: number,
): RangeError {
  return new RangeError(
    `${kernel}: targets[${index}] = ${value} is neither a class in 0..${cols - 1} nor ignoreIndex ${ignoreIndex}`,
  );
}
