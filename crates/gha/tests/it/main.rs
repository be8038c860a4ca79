//! Integration tests of the runner boundary.

// Annotations, groups, masking and redaction as a runner sees them.
mod messages;
// Outputs, exported variables and the step summary in the runner's file formats.
mod files;
