// SPDX-License-Identifier: GPL-2.0

//! The guest's workloads: writes to `tsm/connect` and `tsm/disconnect`, timed with the
//! monotonic clock.

use std::{
    fs, io,
    path::{Path, PathBuf},
    process,
    sync::{
        atomic::{AtomicBool, Ordering},
        Barrier,
    },
    thread,
    time::{Duration, Instant},
};

/// What a workload fails with: the failed operation, and why.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

fn sample(name: &str, value: f64) {
    println!("sample {name} {value:.3}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Writes `tsm` to the `tsm/ATTRIBUTE` file of `device`.
fn write_attribute(device: &Path, attribute: &str, tsm: &str) -> Result {
    let path = device.join("tsm").join(attribute);
    fs::write(&path, tsm).map_err(|e| format!("write {tsm} to {}: {e}", path.display()))
}

/// Writes `tsm` to `attribute` of every device at once, one thread each, released together;
/// returns the time from the release until the last write returned.
fn all_at_once(tsm: &str, attribute: &str, devices: &[PathBuf]) -> Result<Duration> {
    let barrier = Barrier::new(devices.len() + 1);
    thread::scope(|s| {
        let writers: Vec<_> = devices
            .iter()
            .map(|device| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    write_attribute(device, attribute, tsm)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<_> = writers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("writer panicked".into())))
            .collect();
        let elapsed = start.elapsed();
        let failed: Vec<_> = results.into_iter().filter_map(|r| r.err()).collect();
        match failed.first() {
            None => Ok(elapsed),
            Some(first) => Err(format!(
                "{} of {} failed, first: {first}",
                failed.len(),
                devices.len()
            )),
        }
    })
}

pub(crate) fn connect(tsm: &str, devices: &[PathBuf]) -> Result {
    let elapsed = all_at_once(tsm, "connect", devices)?;
    sample(&format!("connect_ms.n{}", devices.len()), ms(elapsed));
    Ok(())
}

pub(crate) fn disconnect(tsm: &str, devices: &[PathBuf]) -> Result {
    all_at_once(tsm, "disconnect", devices).map(drop)
}

/// The nearest-rank `percent` percentile of sorted `values`.
pub(crate) fn percentile(sorted: &[f64], percent: f64) -> f64 {
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn cycle(tsm: &str, count: usize, device: &Path) -> Result {
    if count == 0 {
        return Err("--count must be at least 1".into());
    }
    let mut cycles = Vec::with_capacity(count);
    for _ in 0..count {
        let start = Instant::now();
        write_attribute(device, "connect", tsm)?;
        write_attribute(device, "disconnect", tsm)?;
        cycles.push(ms(start.elapsed()));
    }
    cycles.sort_by(f64::total_cmp);
    sample("cycle_median_ms", percentile(&cycles, 50.0));
    sample("cycle_p99_ms", percentile(&cycles, 99.0));
    Ok(())
}

pub(crate) fn reader(tsm: &str, slow: &Path, read: &Path) -> Result {
    let connecting = AtomicBool::new(true);
    let attribute = read.join("tsm/connect");
    let (connect, mut reads) = thread::scope(|s| {
        let connecting = &connecting;
        let writer = s.spawn(move || {
            let start = Instant::now();
            let result = write_attribute(slow, "connect", tsm);
            connecting.store(false, Ordering::Release);
            result.map(|()| start.elapsed())
        });
        let mut reads = Vec::new();
        let mut failure = None;
        while connecting.load(Ordering::Acquire) {
            let start = Instant::now();
            if let Err(e) = fs::read(&attribute) {
                failure = Some(format!("read {}: {e}", attribute.display()));
                break;
            }
            reads.push(ms(start.elapsed()));
        }
        let connect = writer
            .join()
            .unwrap_or_else(|_| Err("writer panicked".into()));
        (failure.map_or(connect, Err), reads)
    });
    let connect = connect?;
    if reads.is_empty() {
        return Err("no read completed while the slow connect ran".into());
    }
    reads.sort_by(f64::total_cmp);
    sample("reader_max_ms", percentile(&reads, 100.0));
    sample("reader_median_ms", percentile(&reads, 50.0));
    sample("reader_slow_connect_ms", ms(connect));
    Ok(())
}

pub(crate) fn time(name: &str, command: &[String]) -> Result {
    let (program, args) = command.split_first().ok_or("no command")?;
    let start = Instant::now();
    let status = process::Command::new(program)
        .args(args)
        .status()
        .map_err(|e: io::Error| format!("{program}: {e}"))?;
    let elapsed = start.elapsed();
    if !status.success() {
        return Err(format!("{}: {status}", command.join(" ")));
    }
    sample(name, ms(elapsed));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 10.0);
        assert_eq!(percentile(&values, 99.0), 20.0);
        assert_eq!(percentile(&values, 100.0), 20.0);
        assert_eq!(percentile(&[7.0], 50.0), 7.0);
        assert_eq!(percentile(&values, 0.0), 1.0);
    }
}
