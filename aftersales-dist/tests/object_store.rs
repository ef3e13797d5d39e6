//! The distributed path with its data in object storage: the Hive copy uploaded to an S3 bucket (moto's S3
//! server on loopback), a loopback cluster whose executors read the copy and write their staged tables and clocks
//! to the bucket, and the output equal to the local pipeline's.
//!
//! Needs moto's server (PyPI `moto[server]`): MOTO_SERVER names its program. Ignored by a plain `cargo test`;
//! `.ci/run` installs moto and runs it with `--include-ignored`.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;

/// PUT `body` at `path` of the S3 server on `port` (moto accepts unsigned requests).
fn put(port: u16, path: &str, body: &[u8]) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "PUT {path}: {}",
        answer.lines().next().unwrap_or("")
    );
}

fn upload(port: u16, dir: &Path, prefix: &str) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            n += upload(port, &p, &format!("{prefix}/{name}"));
        } else {
            put(port, &format!("{prefix}/{name}"), &std::fs::read(&p).unwrap());
            n += 1;
        }
    }
    n
}

#[test]
#[ignore = "needs moto's S3 server: MOTO_SERVER=<path to moto_server> (.ci/run installs it)"]
fn a_cluster_reading_the_copy_from_s3_gives_the_local_tables() {
    let moto =
        std::env::var("MOTO_SERVER").expect("MOTO_SERVER names moto's server program (pip install 'moto[server]')");
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = spawn(
        Path::new(&moto),
        &["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()],
        &[],
        &work.path().join("moto.log"),
        "S3 server",
    );
    wait_until("the S3 server", || port_open(port), &mut [&mut server]);
    put(port, "/lake", b"");
    let env = vec![
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ];
    let cluster = Cluster::start(2, work.path(), &env);
    let uploaded = std::cell::Cell::new(0);
    let remote = Remote {
        data: "s3://lake/hive".into(),
        work: "s3://lake/work".into(),
        env,
        upload: &|hive: &Path| uploaded.set(upload(port, hive, "/lake/hive")),
    };
    let (local, dist) = both_paths_on(&repo().join("sample_data"), work.path(), &cluster.url(), Some(&remote));
    assert!(uploaded.get() > 20, "{} files uploaded", uploaded.get());
    let compared = assert_same_tables(&local, &dist);
    assert_sample_compared(&compared);
    cluster.assert_every_executor_worked();
    cluster.shut_down();
}
