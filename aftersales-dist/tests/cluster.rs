//! The distributed path on a real Ballista cluster: one scheduler and two executors, each its own process bound to
//! 127.0.0.1 on free ports, run the same job; its tables equal the local pipeline's; the cluster is shut down.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A started process, killed when dropped (a failing test leaves no cluster behind).
struct Process(Child, &'static str);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(role: &'static str, args: &[String], log: &Path) -> Process {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(dist())
        .arg(role)
        .arg("--")
        .args(args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the {role}: {e}"));
    Process(child, role)
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool, procs: &mut [&mut Process]) {
    let started = Instant::now();
    while !ready() {
        for p in procs.iter_mut() {
            if let Ok(Some(status)) = p.0.try_wait() {
                panic!("the {} exited ({status}) while waiting for {what}", p.1);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The scheduler's REST answer to `GET path`.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// Files anywhere under `dir`.
fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { files_under(&e.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_loopback_cluster_of_one_scheduler_and_two_executors_gives_the_local_tables() {
    let work = tempfile::tempdir().unwrap();
    let logs = work.path();
    let sched_port = free_port();
    let mut scheduler = start(
        "scheduler",
        &[
            "--bind-host".into(),
            "127.0.0.1".into(),
            "--external-host".into(),
            "127.0.0.1".into(),
            "--bind-port".into(),
            sched_port.to_string(),
        ],
        &logs.join("scheduler.log"),
    );
    wait_until(
        "the scheduler's port",
        || TcpStream::connect(("127.0.0.1", sched_port)).is_ok(),
        &mut [&mut scheduler],
    );
    let mut executors = Vec::new();
    let mut work_dirs = Vec::new();
    for i in 0..2 {
        let dir = work.path().join(format!("executor{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        executors.push(start(
            "executor",
            &[
                "--scheduler-host".into(),
                "127.0.0.1".into(),
                "--scheduler-port".into(),
                sched_port.to_string(),
                "--bind-host".into(),
                "127.0.0.1".into(),
                "--external-host".into(),
                "127.0.0.1".into(),
                "--bind-port".into(),
                free_port().to_string(),
                "--bind-grpc-port".into(),
                free_port().to_string(),
                "--work-dir".into(),
                dir.display().to_string(),
                "--scheduler-connect-timeout-seconds".into(),
                "30".into(),
            ],
            &logs.join(format!("executor{i}.log")),
        ));
        work_dirs.push(dir);
    }
    // Both executors registered with the scheduler before the job starts.
    {
        let (a, b) = executors.split_at_mut(1);
        wait_until(
            "two executors to register",
            || http_get(sched_port, "/api/executors").is_some_and(|body| body.matches("\"id\"").count() >= 2),
            &mut [&mut scheduler, &mut a[0], &mut b[0]],
        );
    }

    let (local, dist) = both_paths(
        &repo().join("sample_data"),
        work.path(),
        &format!("df://127.0.0.1:{sched_port}"),
    );
    let compared = assert_same_tables(&local, &dist);
    assert_sample_compared(&compared);
    // The work was spread: each executor wrote shuffle files of the job into its own folder.
    for dir in &work_dirs {
        assert!(
            files_under(dir) > 0,
            "executor with work folder {} ran no task",
            dir.display()
        );
    }

    drop(executors);
    drop(scheduler);
    // Shut down: the scheduler's port is free again.
    wait_until(
        "the scheduler to stop",
        || TcpStream::connect(("127.0.0.1", sched_port)).is_err(),
        &mut [],
    );
}
