//! `aftersales generate`.
use anyhow::Result;
use crate::cli::GenerateArgs;
pub fn generate(_a: &GenerateArgs, _quiet: bool) -> Result<i32> { todo!() }
