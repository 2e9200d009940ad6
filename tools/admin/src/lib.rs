//! PlanoAuth's operator tool, as a library: the command line in `main.rs` and the test
//! harness both call it.

pub mod bootstrap;
pub mod commands;
pub mod tables;
pub mod template;
