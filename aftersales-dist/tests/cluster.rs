//! The distributed path on a real Ballista cluster: one scheduler and two executors, each its own process bound to
//! 127.0.0.1 on free ports, run the same jobs; the output equals the local pipeline's; the cluster is shut down.

mod common;

use common::*;

#[test]
fn a_loopback_cluster_of_one_scheduler_and_two_executors_gives_the_local_tables() {
    let work = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(2, work.path(), &[]);
    let (local, dist) = both_paths(&repo().join("sample_data"), work.path(), &cluster.url());
    let compared = assert_same_tables(&local, &dist);
    assert_sample_compared(&compared);
    cluster.assert_every_executor_worked();
    cluster.shut_down();
}
