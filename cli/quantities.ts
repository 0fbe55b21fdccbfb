export const KiB = 1024;
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
/** One Gbit/s in bytes/s. */
export const Gbit = 1e9 / 8;
