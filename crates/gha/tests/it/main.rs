//! Integration tests of the runner boundary.

// Annotations, groups, masking and redaction as a runner sees them.
mod messages;
// Outputs, exported variables and the step summary in the runner's file formats.
mod files;
// Hostile text (logs, build output, bodies, AWS messages) read as the runner reads it: nothing acts.
mod hostile;
// Inputs the fuzzer found (fuzz/): refused as bad input, never a panic.
mod fuzz_regressions;
