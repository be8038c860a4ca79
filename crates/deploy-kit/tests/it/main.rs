//! Integration tests of the deploy-kit binary and the action metadata around it.

// Every `*/action.yml` declares exactly what the binary reads and writes.
mod action_yml;
