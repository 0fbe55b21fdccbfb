/** The kernel API version; plugins declare the range they were written for (`kernel: "^1"`). */
export const KERNEL_VERSION = "1.0.0";
/** Version of the JSON report schema (docs/report-schema.md). */
export const REPORT_SCHEMA = "vmscn.report/2";
