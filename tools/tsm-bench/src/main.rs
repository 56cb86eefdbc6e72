// SPDX-License-Identifier: GPL-2.0

//! `tsm-bench`: the workloads `scripts/bench` runs in the guest, and the report it prints on
//! the host. Each workload prints its measurements as `sample NAME VALUE` lines; the report
//! reads the lines of both cores and prints the table (metric, C, tsm-rs, ratio, goal) and
//! writes a chart of the scaling runs.

use clap::{Parser, Subcommand};
use std::{path::PathBuf, process::ExitCode};

mod report;
mod workload;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connects every DEVICE to TSM at once, one writer thread each; sample
    /// `connect_ms.nN`: the wall time until the last connect returned.
    Connect {
        /// Name of the TSM (`tsmN`).
        #[arg(long)]
        tsm: String,
        /// sysfs directories of the DSMs.
        #[arg(required = true)]
        devices: Vec<PathBuf>,
    },
    /// Disconnects every DEVICE from TSM at once, one writer thread each.
    Disconnect {
        #[arg(long)]
        tsm: String,
        #[arg(required = true)]
        devices: Vec<PathBuf>,
    },
    /// COUNT connect and disconnect cycles of DEVICE; samples `cycle_median_ms` and
    /// `cycle_p99_ms`.
    Cycle {
        #[arg(long)]
        tsm: String,
        #[arg(long, default_value_t = 20)]
        count: usize,
        device: PathBuf,
    },
    /// Reads READ's `tsm/connect` in a loop while SLOW connects to TSM; samples
    /// `reader_max_ms` (the longest read), `reader_median_ms` and `reader_slow_connect_ms`.
    Reader {
        #[arg(long)]
        tsm: String,
        #[arg(long)]
        slow: PathBuf,
        #[arg(long)]
        read: PathBuf,
    },
    /// Runs COMMAND; sample NAME: its wall time in milliseconds.
    Time {
        #[arg(long)]
        name: String,
        #[arg(trailing_var_arg = true, required = true)]
        command: Vec<String>,
    },
    /// Prints the table of both cores' samples and writes the chart of the connect scaling.
    Report {
        /// Samples of upstream's C core.
        #[arg(long)]
        c: PathBuf,
        /// Samples of tsm-rs' core.
        #[arg(long)]
        rs: PathBuf,
        /// Where the chart (SVG) goes.
        #[arg(long)]
        svg: PathBuf,
        /// The machine, printed above the table.
        #[arg(long, default_value = "")]
        machine: String,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Connect { tsm, devices } => workload::connect(&tsm, &devices),
        Command::Disconnect { tsm, devices } => workload::disconnect(&tsm, &devices),
        Command::Cycle { tsm, count, device } => workload::cycle(&tsm, count, &device),
        Command::Reader { tsm, slow, read } => workload::reader(&tsm, &slow, &read),
        Command::Time { name, command } => workload::time(&name, &command),
        Command::Report {
            c,
            rs,
            svg,
            machine,
        } => report::run(&c, &rs, &svg, &machine),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tsm-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
