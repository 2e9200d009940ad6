//! PlanoAuth's operator tool, as a library: the command line in `main.rs` and the test
//! harness both call it. Its commands are declared once, with clap, in [`cli`].

pub mod bootstrap;
pub mod cli;
pub mod commands;
pub mod keys;
pub mod operator;
pub mod tables;
pub mod template;
